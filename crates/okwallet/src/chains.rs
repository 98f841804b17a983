//! Wiring the wallet: the configured chains (or the demo's simulated one), the sealed seed, and
//! the workers that watch and send. Rules live in the `wallet` crate; this only builds it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chain::sim::{SimChain, SimConfig};
use chain::{Address, Token};
use ledger::{Amount, AssetCode};
use store::writer::Ledger;
use store::Db;
use wallet::{AssetSettings, ChainRuntime, ChainSettings, Wallet};

use crate::config::{Config, FileChain};

/// What the demo's hot wallet holds on the simulated chain.
const DEMO_HOT_ETH_WEI: u128 = 1_000_000 * 1_000_000_000_000_000_000;
const DEMO_HOT_USDT: u128 = 100_000_000 * 1_000_000;

/// Builds the wallet and starts its workers. `None` when no chain is configured.
pub async fn start(
    config: &Config,
    db: &Db,
    ledger: &Ledger,
    secret_key: &identity::sealed::SecretKey,
    demo: bool,
) -> anyhow::Result<Option<Arc<Wallet>>> {
    let mut runtimes = Vec::new();
    let mut miners = Vec::new();
    let assets = db.assets().await?;
    for file in &config.chains {
        runtimes.push(
            configured(file, &assets, db, &mut miners)
                .await
                .with_context(|| format!("chain {:?} in the configuration", file.id))?,
        );
    }
    if runtimes.is_empty() && demo {
        let settings = wallet::settings::demo_chain(config.sim_block_time_s);
        runtimes.push(sim_runtime(settings, db, &mut miners, config.sim_block_time_s).await?);
    }
    if runtimes.is_empty() {
        tracing::info!("no chains are configured: deposits and withdrawals are off");
        return Ok(None);
    }
    let seed = wallet::load_or_create_seed(db, secret_key).await?;
    let wallet = Wallet::new(
        db.clone(),
        ledger.clone(),
        seed,
        runtimes,
        i64::try_from(config.address_lock_s.saturating_mul(1000)).unwrap_or(i64::MAX),
    )?;
    // The simulated hot wallet is rich from its genesis: the demo's withdrawals always go out.
    for runtime in wallet.chains() {
        if let Some(sim) = &runtime.sim {
            sim.fund(wallet.hot_wallet_address(), Token::Native, DEMO_HOT_ETH_WEI);
            for asset in &runtime.settings.assets {
                if let Token::Erc20(_) = asset.token {
                    sim.fund(wallet.hot_wallet_address(), asset.token, DEMO_HOT_USDT);
                }
            }
        }
        tracing::info!(
            chain = %runtime.settings.id,
            simulated = runtime.sim.is_some(),
            hot_wallet = %wallet.hot_wallet_address(),
            "chain ready"
        );
    }
    let wallet = Arc::new(wallet);
    let node = format!("{}-{}", std::process::id(), store::new_id());
    wallet::spawn_workers(wallet.clone(), node, Duration::from_secs(1));
    // The miners stop when the chain is dropped; the wallet keeps it for the process's life.
    drop(miners);
    Ok(Some(wallet))
}

async fn configured(
    file: &FileChain,
    assets: &[ledger::Asset],
    db: &Db,
    miners: &mut Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<ChainRuntime> {
    let mut settings_assets = Vec::new();
    for a in &file.assets {
        let code = AssetCode::parse(&a.code).context("an asset code")?;
        let asset = assets
            .iter()
            .find(|known| known.code == code)
            .with_context(|| format!("asset {} is not in the assets list", a.code))?;
        let amount = |text: &str, key: &str| {
            Amount::parse_decimal(text, asset.decimals).map_err(|_| {
                anyhow::anyhow!("{}.{key} = {text:?}: not an amount of {}", a.code, a.code)
            })
        };
        settings_assets.push(AssetSettings {
            code,
            token: match &a.contract {
                None => Token::Native,
                Some(c) => Token::Erc20(
                    Address::parse(c).with_context(|| format!("contract {c:?}: not an address"))?,
                ),
            },
            chain_decimals: a.chain_decimals,
            confirmations: a.confirmations.max(1),
            min_withdrawal: amount(&a.min_withdrawal, "min_withdrawal")?,
            withdrawal_fee: amount(&a.withdrawal_fee, "withdrawal_fee")?,
            daily_limit: amount(&a.daily_limit, "daily_limit")?,
            review_above: amount(&a.review_above, "review_above")?,
        });
    }
    let block_time_s = file.block_time_s.unwrap_or(12).max(1);
    let settings = ChainSettings {
        id: file.id.clone(),
        block_time_s,
        stuck_after_s: file.stuck_after_s.unwrap_or(120),
        max_fee_per_gas_cap: u128::from(file.max_fee_gwei.unwrap_or(500)) * 1_000_000_000,
        scan_blocks_max: 500,
        assets: settings_assets,
    };
    match file.kind.as_str() {
        "evm" => {
            let url = file
                .rpc_url
                .as_deref()
                .context("kind = \"evm\" needs rpc_url")?;
            // Lazy: a node that is down at start delays deposits, not the whole server.
            let chain = chain::evm::EvmChain::lazy(url, file.chain_id)?;
            Ok(ChainRuntime {
                settings,
                chain: Arc::new(chain),
                sim: None,
            })
        }
        "sim" => sim_runtime(settings, db, miners, block_time_s).await,
        other => anyhow::bail!("kind = {other:?}: one of evm, sim"),
    }
}

/// A simulated chain that starts where the watcher stopped, mining on a timer.
async fn sim_runtime(
    settings: ChainSettings,
    db: &Db,
    miners: &mut Vec<tokio::task::JoinHandle<()>>,
    block_time_s: u64,
) -> anyhow::Result<ChainRuntime> {
    let start_height = db
        .chain_cursor(&settings.id)
        .await?
        .map_or(0, |(n, _)| u64::try_from(n).unwrap_or(0));
    let sim = Arc::new(SimChain::new(SimConfig {
        seed: 0,
        block_time: Duration::from_secs(block_time_s),
        start_height,
        ..SimConfig::default()
    }));
    miners.push(sim.spawn_miner());
    Ok(ChainRuntime {
        settings,
        chain: sim.clone(),
        sim: Some(sim),
    })
}
