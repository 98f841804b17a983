//! One-shot operator commands: migrate, user add, ledger verify, ledger adjust.

use std::process::ExitCode;

use anyhow::{bail, Context};
use identity::{Email, Role};
use ledger::{Amount, EventResult, ResultCode, Transfer, TransferId, TransferKind};
use store::accounts::AccountKind;
use store::users::{CreateUserError, User};
use store::writer::Ledger;
use store::Db;

use crate::config::Config;

/// Opens the configured database and brings its schema up to date.
pub async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.effective_database_url()).await?;
    db.migrate().await?;
    db.ensure_system_accounts().await?;
    Ok(db)
}

/// The operator's key for secrets at rest, from `OKWALLET_SECRET_KEY` or `secret_key_file`.
/// Without either, a single-machine SQLite install keeps its own key in a file beside the
/// database (created on first start, readable by the owner only); PostgreSQL is shared by
/// several nodes, which must all hold the same key, so there it must be given.
pub fn secret_key(config: &Config) -> anyhow::Result<identity::sealed::SecretKey> {
    use identity::sealed::SecretKey;
    if let Ok(text) = std::env::var("OKWALLET_SECRET_KEY") {
        return SecretKey::parse(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "OKWALLET_SECRET_KEY (environment): not a key; make one with `okwallet secret-key`"
            )
        });
    }
    if let Some(path) = &config.secret_key_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("secret key file {}: {e}", path.display()))?;
        return SecretKey::parse(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "secret key file {}: not a key; make one with `okwallet secret-key`",
                path.display()
            )
        });
    }
    let url = config.effective_database_url();
    let Some(database) = url
        .strip_prefix("sqlite://")
        .map(|rest| std::path::PathBuf::from(rest.split('?').next().unwrap_or(rest)))
    else {
        anyhow::bail!(
            "PostgreSQL is shared by several nodes, which must hold one key for secrets at rest: \
             set OKWALLET_SECRET_KEY or secret_key_file (make a key with `okwallet secret-key`)"
        );
    };
    let path = database
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("okwallet.secret-key");
    match std::fs::read_to_string(&path) {
        Ok(text) => SecretKey::parse(&text)
            .ok_or_else(|| anyhow::anyhow!("secret key file {}: not a key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            write_private(&path, &key.to_text())?;
            tracing::info!(path = %path.display(), "created a key for secrets at rest; back it up with the database");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("secret key file {}: {e}", path.display())),
    }
}

/// Writes a new file only its owner can read, failing if it exists (two starts racing).
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

pub async fn migrate(config: &Config) -> anyhow::Result<ExitCode> {
    let db = open(config).await?;
    println!(
        "database is at schema version {}",
        db.schema_version().await?
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn user_add(
    config: &Config,
    email: &str,
    password: &str,
    role: Role,
    locale: &str,
) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email).with_context(|| format!("--email {email:?}"))?;
    if !matches!(locale, "zh-CN" | "en") {
        bail!("--locale {locale:?}: one of zh-CN, en");
    }
    let hash = identity::hash_password(password).context("--password")?;
    let db = open(config).await?;
    match db.create_user(&email, &hash, role, locale).await {
        Ok(user) => {
            db.audit(
                "cli",
                "user.create",
                &format!("user:{}", user.id),
                &format!(r#"{{"role":"{role}"}}"#),
            )
            .await?;
            println!("created {} {} ({role})", user.id, user.email);
            Ok(ExitCode::SUCCESS)
        }
        Err(CreateUserError::EmailTaken) => {
            eprintln!("okwallet: {email} is already registered");
            Ok(ExitCode::FAILURE)
        }
        Err(CreateUserError::Storage(e)) => Err(e),
    }
}

pub async fn ledger_verify(config: &Config) -> anyhow::Result<ExitCode> {
    let db = open(config).await?;
    let report = db.verify_ledger().await?;
    if report.discrepancies.is_empty() {
        println!(
            "ledger verified: {} accounts, {} transfers; every balance matches the journal, \
             debits equal credits in every asset, every constraint holds",
            report.accounts, report.transfers
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "ledger verification FAILED: {} discrepancies in {} accounts / {} transfers",
        report.discrepancies.len(),
        report.accounts,
        report.transfers
    );
    for d in &report.discrepancies {
        println!("  - {d}");
    }
    Ok(ExitCode::FAILURE)
}

pub async fn ledger_adjust(
    config: &Config,
    email: &str,
    asset: &str,
    amount: &str,
    reason: &str,
    actor: &str,
) -> anyhow::Result<ExitCode> {
    let db = open(config).await?;
    let email = Email::parse(email).with_context(|| format!("--email {email:?}"))?;
    let Some(user) = db.user_by_email(&email).await? else {
        bail!("no user with the email {email}");
    };
    let ledger = Ledger::start(db.clone(), config.ledger, None).await?;
    let id = store::new_id();
    let result = adjust(&db, &ledger, &user, asset, amount, reason, actor, &id).await?;
    if result.code == ResultCode::Ok {
        println!(
            "adjusted {email} by {amount} {}: transfer {id}",
            asset.to_uppercase()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "okwallet: the ledger refused the adjustment: {}",
            result.code
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Moves `amount` (a signed decimal) between the operator's equity and the user's balance, with
/// the reason recorded first and an audit event after. `id` makes it idempotent.
#[allow(clippy::too_many_arguments)]
pub async fn adjust(
    db: &Db,
    ledger: &Ledger,
    user: &User,
    asset: &str,
    amount: &str,
    reason: &str,
    actor: &str,
    id: &str,
) -> anyhow::Result<EventResult> {
    let reason = reason.trim();
    if reason.is_empty() {
        bail!("--reason must say why");
    }
    let Some(asset) = db
        .assets()
        .await?
        .into_iter()
        .find(|a| a.code.as_str() == asset.trim().to_uppercase())
    else {
        bail!("unknown asset {asset:?}");
    };
    let (negative, magnitude) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let magnitude = Amount::parse_decimal(magnitude, asset.decimals)
        .map_err(|e| anyhow::anyhow!("--amount {amount:?}: {e}"))?;
    if magnitude.is_zero() {
        bail!("--amount must not be zero");
    }
    let user_account = db
        .ensure_account(AccountKind::User, &asset.code, Some(&user.id))
        .await?;
    let equity = db
        .ensure_account(AccountKind::Equity, &asset.code, None)
        .await?;
    let signed = if negative {
        -magnitude.minor()
    } else {
        magnitude.minor()
    };
    db.record_adjustment(
        id,
        user_account.as_str(),
        asset.code.as_str(),
        signed,
        reason,
        actor,
    )
    .await?;
    let (debit, credit) = if negative {
        (user_account, equity)
    } else {
        (equity, user_account)
    };
    let transfer = Transfer {
        id: TransferId::parse(id).context("adjustment id")?,
        kind: TransferKind::Single {
            debit,
            credit,
            amount: magnitude,
        },
        asset: asset.code.clone(),
        code: ledger::codes::ADJUSTMENT,
        reference: format!("adjustment:{id}"),
        linked: false,
    };
    let result = ledger
        .submit(vec![transfer])
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let result = result[0];
    if !result.replayed {
        let detail = serde_json::json!({
            "adjustment": id,
            "asset": asset.code.as_str(),
            "amount": format!("{}{}", if negative { "-" } else { "" }, magnitude.to_decimal_string(asset.decimals)),
            "reason": reason,
            "result": result.code.as_str(),
        });
        db.audit(
            actor,
            "ledger.adjust",
            &format!("user:{}", user.id),
            &detail.to_string(),
        )
        .await?;
    }
    Ok(result)
}

/// `okwallet ledger fund-liquidity`.
pub async fn ledger_fund_liquidity(
    config: &Config,
    asset: &str,
    amount: &str,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let reason = reason.trim();
    if reason.is_empty() {
        bail!("--reason must say why");
    }
    let db = open(config).await?;
    let ledger = Ledger::start(db.clone(), config.ledger, None).await?;
    let id = format!("liquidity:{}", store::new_id());
    let result = fund_liquidity(&db, &ledger, asset, amount, &id).await?;
    if result.code != ResultCode::Ok {
        eprintln!("okwallet: the ledger refused: {}", result.code);
        return Ok(ExitCode::FAILURE);
    }
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    db.audit(
        &actor,
        "liquidity_funded",
        &asset.to_uppercase(),
        &format!("{amount} ({reason}): transfer {id}"),
    )
    .await?;
    println!(
        "funded {} liquidity with {amount}: transfer {id}",
        asset.to_uppercase()
    );
    Ok(ExitCode::SUCCESS)
}

/// Moves `amount` of an asset from the operator's equity into its liquidity account, which
/// conversions are filled from. `id` makes it happen once however often it is asked.
pub async fn fund_liquidity(
    db: &Db,
    ledger: &Ledger,
    asset: &str,
    amount: &str,
    id: &str,
) -> anyhow::Result<EventResult> {
    let Some(asset) = db
        .assets()
        .await?
        .into_iter()
        .find(|a| a.code.as_str() == asset.trim().to_uppercase())
    else {
        bail!("unknown asset {asset:?}");
    };
    let amount = Amount::parse_decimal(amount.trim(), asset.decimals)
        .map_err(|e| anyhow::anyhow!("amount {amount:?}: {e}"))?;
    let equity = db
        .ensure_account(AccountKind::Equity, &asset.code, None)
        .await?;
    let liquidity = db
        .ensure_account(AccountKind::Liquidity, &asset.code, None)
        .await?;
    let transfer = ledger::Transfer {
        id: ledger::TransferId::parse(id).context("a transfer id")?,
        kind: ledger::TransferKind::Single {
            debit: equity,
            credit: liquidity,
            amount,
        },
        asset: asset.code.clone(),
        code: ledger::codes::ADJUSTMENT,
        reference: "liquidity".to_owned(),
        linked: false,
    };
    let results = ledger
        .submit(vec![transfer])
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    results
        .into_iter()
        .next()
        .context("one result per transfer")
}
