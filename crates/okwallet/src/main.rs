//! The okwallet binary: command line, configuration, wiring and background workers.
//!
//! Business rules live in the library crates; this file only parses what the operator asked for,
//! settles the configuration, and calls them.

mod bench;
mod bench_chat;
mod bench_desk;
mod bench_help;
mod bench_transfers;
mod chains;
mod config;
mod demo_desk;
mod demo_help;
mod load;
mod mailer;
mod ops;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use config::{Config, ConfigError, FileConfig, LogFormat, Sourced};

/// okwallet — a self-hosted digital-asset wallet with customer service built in.
///
/// Without --database-url the data lives in embedded SQLite under ./okwallet-data/.
/// Settings come from flags, then OKWALLET_* environment variables, then the TOML file given by
/// --config, then defaults.
#[derive(Parser, Debug)]
#[command(name = "okwallet", version, max_term_width = 100)]
struct Cli {
    /// TOML configuration file (keys: database_url, data_dir, listen, public_url, log_format, smtp_url, mail_from, [ledger], [security]).
    #[arg(long, global = true, env = "OKWALLET_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database: postgres://user@host/db for PostgreSQL, or sqlite://path. Default: SQLite in the data folder.
    #[arg(
        long,
        global = true,
        env = "OKWALLET_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// File holding the key for secrets at rest (see `okwallet secret-key`). Default: the
    /// OKWALLET_SECRET_KEY variable, or with SQLite a key file created beside the database.
    #[arg(
        long,
        global = true,
        env = "OKWALLET_SECRET_KEY_FILE",
        value_name = "FILE"
    )]
    secret_key_file: Option<PathBuf>,
    /// Folder for the embedded database and other local data [default: ./okwallet-data].
    #[arg(long, global = true, env = "OKWALLET_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log line format on standard error: text or json [default: text].
    #[arg(
        long,
        global = true,
        env = "OKWALLET_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server and background workers (migrations are applied first).
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "OKWALLET_LISTEN", value_name = "ADDR")]
        listen: Option<String>,
        /// How people reach this server, e.g. https://wallet.example.com; links in mail and
        /// passkeys use it [default: http://localhost:<port>].
        #[arg(long, env = "OKWALLET_PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
        /// Seed demo accounts (one per role), fund the demo user, and print the demo logins.
        #[arg(long, env = "OKWALLET_DEMO")]
        demo: bool,
        /// Where mail goes: smtps://user:pass@host, smtp://user:pass@host:587 (STARTTLS) or
        /// smtp://host:25?tls=none for a local relay. Without it no mail is sent; it waits in the
        /// outbox. Prefer OKWALLET_SMTP_URL: flags are visible to other local users.
        #[arg(
            long,
            env = "OKWALLET_SMTP_URL",
            value_name = "URL",
            hide_env_values = true
        )]
        smtp_url: Option<String>,
        /// The sender of our mail [default: okwallet <noreply@HOST> with the public URL's host].
        #[arg(long, env = "OKWALLET_MAIL_FROM", value_name = "MAILBOX")]
        mail_from: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print a new random key for secrets at rest, for OKWALLET_SECRET_KEY or secret_key_file
    /// (every node on one PostgreSQL needs the same key; keep it apart from database backups).
    SecretKey,
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
    /// Check and correct the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Measure performance; prints numbers, asserts nothing.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Tools for okwallet's own tests.
    #[command(subcommand, hide = true)]
    Debug(DebugCommand),
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user with a role, e.g. the first admin.
    Add {
        #[arg(long)]
        email: String,
        /// At least 10 characters. Prefer OKWALLET_USER_PASSWORD: flags are visible to other local users.
        #[arg(long, env = "OKWALLET_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// One of user, merchant, agent, supervisor, admin.
        #[arg(long, default_value = "user")]
        role: identity::Role,
        /// Language for pages and mail: zh-CN or en.
        #[arg(long, default_value = "zh-CN")]
        locale: String,
    },
}

#[derive(Subcommand, Debug)]
enum LedgerCommand {
    /// Recompute every balance from the journal and check every invariant; exits 1 on any discrepancy.
    Verify,
    /// Credit (or, with a negative amount, debit) a user's balance against the operator's equity,
    /// with a reason, as a new audited transfer. Journal entries are never edited.
    Adjust {
        #[arg(long)]
        email: String,
        /// Asset code, e.g. ETH.
        #[arg(long)]
        asset: String,
        /// Decimal amount in the asset's units, e.g. 1.5 or -0.25.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Why: kept with the adjustment and in the audit log.
        #[arg(long)]
        reason: String,
        /// Who is adjusting [default: cli:$USER].
        #[arg(long)]
        actor: Option<String>,
    },
    /// Move an amount from the operator's equity into the liquidity account conversions are
    /// filled from (a new audited transfer).
    FundLiquidity {
        /// Asset code, e.g. USDT.
        #[arg(long)]
        asset: String,
        /// Decimal amount in the asset's units.
        #[arg(long)]
        amount: String,
        /// Why: kept in the audit log.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Transfers per second and latency, with one commit per transfer and with group commit,
    /// against a fresh database (a new SQLite file, or a new database on the given PostgreSQL
    /// server, dropped afterwards).
    Ledger(bench::LedgerBenchArgs),
    /// Log-in latency (p50, p99) and throughput through the real HTTP route, with the argon2id
    /// parameters okwallet uses, against a fresh database.
    Login(bench::LoginBenchArgs),
    /// The deposit watcher on the simulated chain: addresses handed out, then blocks full of
    /// deposits scanned, recorded and credited.
    Deposits(bench::DepositsBenchArgs),
    /// Authenticated `POST /api/v1/transfers` through the real HTTP server: transfers per
    /// second and p50/p99 latency with concurrent clients, against a fresh database.
    Transfers(bench_transfers::TransfersBenchArgs),
    /// The help center: knowledge-base search latency over generated articles (mostly Chinese
    /// queries), then the contact directory and the official check through the real HTTP
    /// server.
    HelpCenter(bench_help::HelpBenchArgs),
    /// The help desk through the real HTTP server: ticket creates and agent replies per second
    /// with p50/p99, then the agents' queue pages over a database of `--queue-tickets`
    /// tickets, against a fresh database.
    Helpdesk(bench_desk::DeskBenchArgs),
    /// Live chat through a real server process: memory per idle WebSocket, and message
    /// delivery latency (p50, p99) with thousands of customers and agents connected.
    Chat(bench_chat::ChatBenchArgs),
}

#[derive(Subcommand, Debug)]
enum DebugCommand {
    /// Submits a deterministic stream of transfers and prints `ack <index> <result>` after each
    /// acknowledgement (used by the crash-safety and multi-writer tests).
    Load(load::LoadArgs),
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let config = match settle(&cli, &matches) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("okwallet: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(run(cli.command, config));
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("okwallet: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve { demo, .. } => serve::serve(config, demo).await,
        Command::Migrate => ops::migrate(&config).await,
        Command::User(UserCommand::Add {
            email,
            password,
            role,
            locale,
        }) => ops::user_add(&config, &email, &password, role, &locale).await,
        Command::Ledger(LedgerCommand::Verify) => ops::ledger_verify(&config).await,
        Command::Ledger(LedgerCommand::Adjust {
            email,
            asset,
            amount,
            reason,
            actor,
        }) => {
            let actor = actor.unwrap_or_else(|| {
                format!(
                    "cli:{}",
                    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
                )
            });
            ops::ledger_adjust(&config, &email, &asset, &amount, &reason, &actor).await
        }
        Command::Ledger(LedgerCommand::FundLiquidity {
            asset,
            amount,
            reason,
        }) => ops::ledger_fund_liquidity(&config, &asset, &amount, &reason).await,
        Command::SecretKey => {
            println!("{}", identity::sealed::SecretKey::generate().to_text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Ledger(args)) => bench::ledger(&config, args).await,
        Command::Bench(BenchCommand::Login(args)) => bench::login(&config, args).await,
        Command::Bench(BenchCommand::Deposits(args)) => bench::deposits(&config, args).await,
        Command::Bench(BenchCommand::Transfers(args)) => {
            bench_transfers::transfers(&config, args).await
        }
        Command::Bench(BenchCommand::HelpCenter(args)) => bench_help::help(&config, args).await,
        Command::Bench(BenchCommand::Helpdesk(args)) => bench_desk::helpdesk(&config, args).await,
        Command::Bench(BenchCommand::Chat(args)) => bench_chat::chat(&config, args).await,
        Command::Debug(DebugCommand::Load(args)) => load::run(&config, args).await,
    }
}

/// Where a value of `id` came from, or `None` when it was not given by flag or environment.
fn sourced<T: Clone + Send + Sync + 'static>(
    matches: &ArgMatches,
    id: &str,
    flag: &str,
    env: &str,
) -> Option<Sourced<T>> {
    let value = matches.get_one::<T>(id)?.clone();
    let source = match matches.value_source(id) {
        Some(ValueSource::EnvVariable) => format!("{env} (environment)"),
        Some(ValueSource::CommandLine) => flag.to_owned(),
        _ => return None,
    };
    Some(Sourced { value, source })
}

fn settle(cli: &Cli, matches: &ArgMatches) -> Result<Config, ConfigError> {
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let database_url = config::pick(
        sourced::<String>(
            matches,
            "database_url",
            "--database-url",
            "OKWALLET_DATABASE_URL",
        ),
        file.database_url,
        "database_url",
    )
    .map(config::check_database_url)
    .transpose()?;
    let data_dir = config::pick(
        sourced::<PathBuf>(matches, "data_dir", "--data-dir", "OKWALLET_DATA_DIR"),
        file.data_dir,
        "data_dir",
    )
    .map_or_else(|| PathBuf::from("okwallet-data"), |s| s.value);
    let serve_matches = matches.subcommand_matches("serve");
    let listen_flag =
        serve_matches.and_then(|m| sourced::<String>(m, "listen", "--listen", "OKWALLET_LISTEN"));
    let listen = config::pick(listen_flag, file.listen, "listen")
        .map(config::parse_listen)
        .transpose()?
        .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("default address"));
    let public_url_flag = serve_matches
        .and_then(|m| sourced::<String>(m, "public_url", "--public-url", "OKWALLET_PUBLIC_URL"));
    let public_url = config::pick(public_url_flag, file.public_url, "public_url")
        .map(config::check_public_url)
        .transpose()?;
    let smtp_url_flag = serve_matches
        .and_then(|m| sourced::<String>(m, "smtp_url", "--smtp-url", "OKWALLET_SMTP_URL"));
    let smtp_url = config::pick(smtp_url_flag, file.smtp_url, "smtp_url")
        .map(config::check_smtp_url)
        .transpose()?;
    let mail_from_flag = serve_matches
        .and_then(|m| sourced::<String>(m, "mail_from", "--mail-from", "OKWALLET_MAIL_FROM"));
    let mail_from = config::pick(mail_from_flag, file.mail_from, "mail_from")
        .map(config::check_mail_from)
        .transpose()?;
    let log_format = config::pick(
        sourced::<String>(matches, "log_format", "--log-format", "OKWALLET_LOG_FORMAT"),
        file.log_format,
        "log_format",
    )
    .map(config::parse_log_format)
    .transpose()?
    .unwrap_or(LogFormat::Text);
    let mut ledger = store::writer::WriterConfig::default();
    if let Some(v) = file.ledger.batch_events_max {
        ledger.batch_events_max = config::check_positive(
            Sourced {
                value: v,
                source: "config file key `ledger.batch_events_max`".into(),
            },
            65_536,
        )?;
    }
    if let Some(v) = file.ledger.queue_requests_max {
        ledger.queue_requests_max = config::check_positive(
            Sourced {
                value: v,
                source: "config file key `ledger.queue_requests_max`".into(),
            },
            1_000_000,
        )?;
    }
    Ok(Config {
        database_url,
        data_dir,
        listen,
        log_format,
        ledger,
        public_url,
        unfreeze_cooling_off_s: file.security.unfreeze_cooling_off_s.unwrap_or(86_400),
        withdrawal_lock_s: file.security.withdrawal_lock_s.unwrap_or(86_400),
        trusted_proxies: config::parse_trusted_proxies(&file.trusted_proxies)?,
        secret_key_file: config::pick(
            sourced::<PathBuf>(
                matches,
                "secret_key_file",
                "--secret-key-file",
                "OKWALLET_SECRET_KEY_FILE",
            ),
            file.secret_key_file,
            "secret_key_file",
        )
        .map(|s| s.value),
        smtp_url,
        mail_from,
        address_lock_s: env_seconds("OKWALLET_ADDRESS_LOCK_S")?
            .or(file.wallet.address_lock_s)
            .unwrap_or(86_400),
        sim_block_time_s: env_seconds("OKWALLET_SIM_BLOCK_TIME_S")?
            .or(file.wallet.sim_block_time_s)
            .unwrap_or(3)
            .max(1),
        chains: file.chains,
        payments: payments_config(file.payments)?,
        helpcenter: file.helpcenter.settled()?,
        helpdesk: file.helpdesk.settled()?,
        live: file.live.settled()?,
    })
}

/// `[payments]` with its environment variables laid over it.
fn payments_config(
    mut file: config::FilePaymentsConfig,
) -> Result<config::FilePaymentsConfig, ConfigError> {
    if let Ok(v) = std::env::var("OKWALLET_PRICE_FEED") {
        file.price_feed = Some(v.trim().to_owned());
    }
    if let Ok(v) = std::env::var("OKWALLET_PRICE_FEED_URL") {
        file.price_feed_url = Some(v.trim().to_owned());
    }
    if let Ok(v) = std::env::var("OKWALLET_ALLOW_PRIVATE_WEBHOOKS") {
        file.allow_private_webhooks = Some(match v.trim() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" | "" => false,
            other => {
                return Err(ConfigError(format!(
                    "OKWALLET_ALLOW_PRIVATE_WEBHOOKS = {other:?}: true or false"
                )))
            }
        });
    }
    if let Ok(v) = std::env::var("OKWALLET_WEBHOOK_BACKOFF_S") {
        let waits: Result<Vec<u64>, _> = v.split(',').map(|p| p.trim().parse::<u64>()).collect();
        file.webhook_backoff_s = Some(waits.map_err(|_| {
            ConfigError(format!(
                "OKWALLET_WEBHOOK_BACKOFF_S = {v:?}: whole seconds separated by commas"
            ))
        })?);
    }
    match file.price_feed.as_deref() {
        None | Some("admin" | "simulated") => {}
        Some("http") if file.price_feed_url.is_some() && !file.price_pointers.is_empty() => {}
        Some("http") => {
            return Err(ConfigError(
                "payments.price_feed = \"http\" needs price_feed_url and price_pointers".into(),
            ))
        }
        Some(other) => {
            return Err(ConfigError(format!(
                "payments.price_feed = {other:?}: admin, http or simulated"
            )))
        }
    }
    Ok(file)
}

/// A whole number of seconds from an environment variable, if it is set.
fn env_seconds(name: &str) -> Result<Option<u64>, ConfigError> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ConfigError(format!("{name} = {v:?}: a whole number of seconds"))),
        Err(_) => Ok(None),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OKWALLET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colours only for a person at a terminal, never in files or log collectors.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
