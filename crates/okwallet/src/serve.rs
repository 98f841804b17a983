//! `okwallet serve`: the web server, the ledger writer, background workers (hold expiry, the
//! mailer), and the demo.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use identity::{Email, Role};
use store::users::CreateUserError;
use store::writer::Ledger;
use store::Db;

use crate::config::Config;
use crate::{mailer, ops};

pub async fn serve(config: Config, demo: bool) -> anyhow::Result<ExitCode> {
    tracing::info!(config = ?config, demo, "starting okwallet");
    let db = ops::open(&config).await?;
    let secret_key = ops::secret_key(&config)?;
    let metrics = Arc::new(web::Metrics::new());
    let ledger = Ledger::start(db.clone(), config.ledger, Some(metrics.batch_observer())).await?;
    tokio::spawn(expire_holds_forever(db.clone(), ledger.clone()));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr()?;
    let public_url = config.effective_public_url(address.port());
    let help_settings = help_settings(&config);
    if demo {
        crate::demo_help::seed(&db, &help_settings.default_country_code).await?;
        let logins = seed_demo(&db, &ledger).await?;
        print_demo_banner(&public_url, logins);
    }
    start_mailer(&config, &db, &public_url, demo)?;
    tracing::info!(%address, %public_url, "listening");
    println!("okwallet is running at {public_url}/  (API docs: {public_url}/api/docs)");
    let settings = web::Settings {
        public_url,
        unfreeze_cooling_off_ms: seconds_to_ms(config.unfreeze_cooling_off_s),
        withdrawal_lock_ms: seconds_to_ms(config.withdrawal_lock_s),
        trusted_proxies: config.trusted_proxies.clone(),
        secret_key,
        allow_private_webhooks: config.payments.allow_private_webhooks.unwrap_or(false),
        desk: desk_settings(&config),
        cti_secret: config.live.cti_secret.clone(),
        ice_servers: config.live.ice_servers.clone(),
        callbacks: config.live.callback_policy(),
    };
    // Said once at start rather than on every passkey request: browsers refuse an IP address
    // as a passkey domain, so a public URL like http://127.0.0.1:8080 turns passkeys off.
    if let Err(error) = identity::passkey::RelyingParty::from_public_url(&settings.public_url) {
        tracing::warn!(%error, "passkeys are unavailable with this public URL");
    }
    let wallet = crate::chains::start(&config, &db, &ledger, &settings.secret_key, demo).await?;
    let payments = Arc::new(build_payments(&config, &db, &ledger, demo)?);
    payments::webhook::spawn_deliverer(
        db.clone(),
        settings.secret_key.clone(),
        payments.settings.delivery.clone(),
    );
    let help = Arc::new(web::help::HelpCenter::start(&db, help_settings).await?);
    tokio::spawn(sync_help_forever(
        db.clone(),
        help.clone(),
        Duration::from_secs(config.helpcenter.sync_interval_s.unwrap_or(5)),
    ));
    let state = web::AppState {
        db: db.clone(),
        ledger,
        metrics,
        demo,
        settings: Arc::new(settings),
        wallet,
        payments,
        help,
        desk: Arc::new(web::desk::Desk::new()),
        chat: Arc::new(web::chat::Hub::new()),
    };
    if demo {
        crate::demo_desk::seed(
            &state,
            DEMO_LOGINS[2].email,
            DEMO_LOGINS[3].email,
            DEMO_LOGINS[0].email,
        )
        .await?;
    }
    web::chat::spawn_listener(state.clone());
    tokio::spawn(watch_desk_forever(
        state.clone(),
        Duration::from_secs(config.helpdesk.watch_interval_s.unwrap_or(15)),
    ));
    web::serve(listener, state, shutdown_signal()).await?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The help center's settings from `[helpcenter]` (already checked).
pub fn help_settings(config: &Config) -> web::help::HelpSettings {
    let file = &config.helpcenter;
    let defaults = web::help::HelpSettings::default();
    web::help::HelpSettings {
        default_country_code: file
            .default_country_code
            .clone()
            .unwrap_or(defaults.default_country_code),
        official_domains: file.official_domains.clone(),
        time_zone: file.time_zone.clone().unwrap_or(defaults.time_zone),
    }
}

/// The help desk's settings from `[helpdesk]` (already checked).
pub fn desk_settings(config: &Config) -> web::desk::DeskSettings {
    let file = &config.helpdesk;
    let defaults = web::desk::DeskSettings::default();
    web::desk::DeskSettings {
        close_solved_after_days: file
            .close_solved_after_days
            .unwrap_or(defaults.close_solved_after_days),
        complaint_due_business_s: file
            .complaint_due_business_h
            .map_or(defaults.complaint_due_business_s, |h| {
                i64::try_from(h).unwrap_or(8) * 3600
            }),
        near_breach_permille: file
            .near_breach_percent
            .map_or(defaults.near_breach_permille, |p| p * 10),
        time_zone: help_settings(config).time_zone,
    }
}

/// Records SLA near-breaches and breaches as they happen (once, whichever node sees them
/// first), mails who must act, and closes tickets solved long enough ago.
async fn watch_desk_forever(state: web::AppState, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        match web::desk::watch_round(&state, store::now_ms()).await {
            Ok(round) if round.alerts > 0 || round.closed > 0 => {
                tracing::info!(
                    alerts = round.alerts,
                    closed = round.closed,
                    "help desk watch"
                )
            }
            Ok(_) => {}
            Err(error) => {
                error.log();
            }
        }
    }
}

/// Keeps this node's search index current with articles edited on any node.
async fn sync_help_forever(db: Db, help: Arc<web::help::HelpCenter>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        match help.sync(&db).await {
            Ok(0) => {}
            Ok(changed) => tracing::info!(changed, "search index brought up to date"),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "could not sync the search index"
                )
            }
        }
    }
}

/// Transfers, conversions and payments with the configured price feed, limits and webhooks.
pub fn build_payments(
    config: &Config,
    db: &Db,
    ledger: &Ledger,
    demo: bool,
) -> anyhow::Result<payments::Payments> {
    let file = &config.payments;
    let feed: Arc<dyn payments::PriceFeed> = match file.price_feed.as_deref() {
        Some("http") => Arc::new(payments::feed::HttpJsonFeed::new(
            file.price_feed_url.clone().unwrap_or_default(),
            file.price_pointers.clone(),
            Duration::from_secs(5),
        )?),
        Some("simulated") => Arc::new(payments::feed::SimFeed::new()),
        None if demo => Arc::new(payments::feed::SimFeed::new()),
        _ => Arc::new(payments::feed::AdminFeed::new(db.clone())),
    };
    let mut settings = payments::Settings::default();
    if let Some(s) = file.quote_ttl_s {
        settings.quote_ttl = Duration::from_secs(s.clamp(1, 300));
    }
    if let Some(bps) = file.fee_bps {
        settings.fee_bps = bps.min(1000);
    }
    if let Some(bps) = file.spread_bps {
        settings.spread_bps = bps.min(1000);
    }
    let decimal = |key: &str, v: &str| {
        v.trim()
            .parse::<payments::rust_decimal::Decimal>()
            .ok()
            .filter(|d| *d > payments::rust_decimal::Decimal::ZERO)
            .ok_or_else(|| anyhow::anyhow!("payments.{key} = {v:?}: a positive decimal"))
    };
    for (kind, assets) in &file.daily_limits {
        anyhow::ensure!(
            ["transfer", "conversion", "payment"].contains(&kind.as_str()),
            "payments.daily_limits.{kind}: the kinds are transfer, conversion and payment"
        );
        for (asset, amount) in assets {
            settings.daily_limits.insert(
                (kind.clone(), asset.to_uppercase()),
                decimal(&format!("daily_limits.{kind}.{asset}"), amount)?,
            );
        }
    }
    for (asset, amount) in &file.pay_step_up_above {
        settings.pay_step_up_above.insert(
            asset.to_uppercase(),
            decimal(&format!("pay_step_up_above.{asset}"), amount)?,
        );
    }
    if let Some(waits) = &file.webhook_backoff_s {
        settings.delivery.backoff = waits.iter().map(|s| Duration::from_secs(*s)).collect();
    }
    if demo {
        // The demo's merchant tests webhooks against a local receiver.
        settings.delivery.poll = Duration::from_millis(500);
    }
    Ok(payments::Payments::new(
        db.clone(),
        ledger.clone(),
        feed,
        settings,
    ))
}

/// Starts the mailer when an SMTP server is configured; otherwise says once that mail stays in
/// the outbox.
fn start_mailer(config: &Config, db: &Db, public_url: &str, demo: bool) -> anyhow::Result<()> {
    let from_text = config
        .mail_from
        .clone()
        .unwrap_or_else(|| mailer::default_from(public_url));
    let from = mailer::parse_from(&from_text)
        .map_err(|why| anyhow::anyhow!("the mail sender {from_text:?}: {why}"))?;
    match &config.smtp_url {
        Some(url) => {
            let transport = mailer::transport(url)?;
            tracing::info!(smtp = %store::redact_url(url), from = %from_text, "sending mail");
            tokio::spawn(mailer::run(db.clone(), transport, from));
        }
        // In the demo, mail in the outbox is the intended way to read it: no warning.
        None if demo => tracing::info!(
            mailbox = %format!("{public_url}/dev/mailbox"),
            "mail is not sent (no smtp_url is configured): it stays in the outbox, and the demo's \
             dev mailbox shows it"
        ),
        None => tracing::warn!(
            "mail is not sent (no smtp_url is configured): it stays in the outbox until okwallet \
             runs with OKWALLET_SMTP_URL"
        ),
    }
    Ok(())
}

fn seconds_to_ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// Releases expired holds every second; several nodes may run this at once.
async fn expire_holds_forever(db: Db, ledger: Ledger) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        match store::writer::expire_due_holds(&db, &ledger).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "expired holds released"),
            Err(e) => tracing::warn!(
                error = format!("{e:#}"),
                "expiring holds failed; will retry"
            ),
        }
    }
}

/// A demo login: role, email, password.
pub struct DemoLogin {
    pub role: Role,
    pub email: &'static str,
    pub password: &'static str,
}

pub const DEMO_LOGINS: [DemoLogin; 5] = [
    DemoLogin {
        role: Role::User,
        email: "user@demo.okwallet.local",
        password: "demo-user-2026",
    },
    DemoLogin {
        role: Role::Merchant,
        email: "merchant@demo.okwallet.local",
        password: "demo-merchant-2026",
    },
    DemoLogin {
        role: Role::Agent,
        email: "agent@demo.okwallet.local",
        password: "demo-agent-2026",
    },
    DemoLogin {
        role: Role::Supervisor,
        email: "supervisor@demo.okwallet.local",
        password: "demo-supervisor-2026",
    },
    DemoLogin {
        role: Role::Admin,
        email: "admin@demo.okwallet.local",
        password: "demo-admin-2026",
    },
];

/// Starting balances of the demo user, funded by adjustments with fixed ids (so restarting the
/// demo does not fund it twice).
const DEMO_FUNDS: [(&str, &str); 3] = [("ETH", "2.5"), ("USDT", "10000"), ("BTC", "0.1")];

/// Creates the demo accounts (once) and funds the demo user (once).
pub async fn seed_demo(db: &Db, ledger: &Ledger) -> anyhow::Result<&'static [DemoLogin]> {
    for login in &DEMO_LOGINS {
        let email = Email::parse(login.email).expect("demo emails are valid");
        let hash = identity::hash_password(login.password).expect("demo passwords are long enough");
        match db.create_user(&email, &hash, login.role, "zh-CN").await {
            Ok(_) | Err(CreateUserError::EmailTaken) => {}
            Err(CreateUserError::Storage(e)) => return Err(e),
        }
    }
    let user = db
        .user_by_email(&Email::parse(DEMO_LOGINS[0].email).expect("valid"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo user was just created"))?;
    for (asset, amount) in DEMO_FUNDS {
        let id = format!("demo-funding-{}", asset.to_lowercase());
        let result = ops::adjust(
            db,
            ledger,
            &user,
            asset,
            amount,
            "demo starting balance",
            "demo",
            &id,
        )
        .await?;
        anyhow::ensure!(
            result.code == ledger::ResultCode::Ok,
            "demo funding of {asset} refused: {}",
            result.code
        );
    }
    // Conversions are filled from the operator's liquidity accounts.
    for (asset, amount) in DEMO_LIQUIDITY {
        let result = ops::fund_liquidity(
            db,
            ledger,
            asset,
            amount,
            &format!("demo-liquidity-{}", asset.to_lowercase()),
        )
        .await?;
        anyhow::ensure!(
            result.code == ledger::ResultCode::Ok,
            "demo liquidity of {asset} refused: {}",
            result.code
        );
    }
    Ok(&DEMO_LOGINS)
}

/// The demo's conversion inventory.
const DEMO_LIQUIDITY: [(&str, &str); 3] = [("ETH", "500"), ("USDT", "2000000"), ("BTC", "20")];

fn print_demo_banner(public_url: &str, logins: &[DemoLogin]) {
    println!();
    println!("  okwallet demo · 演示模式 — {public_url}/");
    println!("  Demo logins (data is for demonstration only) · 演示账号（仅供演示）:");
    for login in logins {
        println!(
            "    {:<11} {:<32} {}",
            login.role.as_str(),
            login.email,
            login.password
        );
    }
    println!("  The demo user holds 2.5 ETH, 10000 USDT and 0.1 BTC.");
    println!(
        "  Send · 转账 {public_url}/send   Convert · 闪兑 {public_url}/convert (SIMULATED prices · 模拟行情)   Merchant · 商户 {public_url}/merchant"
    );
    println!("  Mail · 邮件: {public_url}/dev/mailbox  (API: /api/v1/dev/mailbox)");
    println!(
        "  Support · 工单 {public_url}/support   Agent console · 客服工作台 {public_url}/agent   Supervisor · 主管后台 {public_url}/supervisor"
    );
    println!(
        "  Staff consoles open after two-step verification is turned on at {public_url}/security · 客服与主管后台需先在安全中心开启两步验证"
    );
    println!(
        "  Deposits run on a SIMULATED chain · 充值使用模拟链: {public_url}/deposit  \
         (API: POST /api/v1/sim/deposits)"
    );
    println!();
}
