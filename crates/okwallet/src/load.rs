//! `okwallet debug load`: a deterministic stream of ledger requests for okwallet's own crash and
//! multi-writer tests. Request `i` of seed `s` is always the same, so a test can kill this
//! process, start it again over the same range, and compare.
//!
//! Prints `ack <index> <code>[,<code>…] <replayed>` on standard output after each acknowledged
//! request, and `done` at the end.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ledger::{Amount, AssetCode, Transfer, TransferId, TransferKind};
use rand::{Rng, SeedableRng};
use store::accounts::equity_account_id;
use store::writer::Ledger;

use crate::config::Config;
use crate::ops;

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Create and fund the accounts first (idempotent).
    #[arg(long)]
    setup: bool,
    #[arg(long, default_value_t = 16)]
    accounts: usize,
    /// Starting balance of each account, in minor units.
    #[arg(long, default_value_t = 100_000)]
    funding: i64,
    #[arg(long, default_value_t = 0)]
    start: u64,
    #[arg(long, default_value_t = 1000)]
    count: u64,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Account `n` of the load test.
pub fn load_account(n: usize) -> ledger::AccountId {
    ledger::AccountId::parse(&format!("load:{n}")).expect("valid id")
}

/// Request `index` of `seed`: mostly single transfers, some amount+fee linked pairs, some
/// hold-then-post chains, amounts large enough that accounts run dry now and then.
pub fn request(seed: u64, index: u64, accounts: usize) -> Vec<Transfer> {
    let mut rng =
        rand::rngs::StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    let eth = AssetCode::parse("ETH").expect("valid");
    let from = rng.gen_range(0..accounts);
    let to = (from + rng.gen_range(1..accounts)) % accounts;
    let amount = Amount::from_minor(rng.gen_range(1..5_000)).expect("positive");
    let id = |leg: &str| TransferId::parse(&format!("load-{seed}-{index}{leg}")).expect("valid");
    let single = |leg: &str, debit, credit, amount, linked| Transfer {
        id: id(leg),
        kind: TransferKind::Single {
            debit,
            credit,
            amount,
        },
        asset: eth.clone(),
        code: ledger::codes::LOAD_TEST,
        reference: format!("load:{index}"),
        linked,
    };
    match rng.gen_range(0..10) {
        0..=6 => vec![single(
            "",
            load_account(from),
            load_account(to),
            amount,
            false,
        )],
        7 | 8 => vec![
            single(
                "-amount",
                load_account(from),
                load_account(to),
                amount,
                true,
            ),
            single(
                "-fee",
                load_account(from),
                equity_account_id(&eth),
                Amount::from_minor(7).expect("positive"),
                false,
            ),
        ],
        _ => vec![
            Transfer {
                kind: TransferKind::Pending {
                    debit: load_account(from),
                    credit: load_account(to),
                    amount,
                    timeout_s: 0,
                },
                ..single("-hold", load_account(from), load_account(to), amount, true)
            },
            Transfer {
                kind: TransferKind::Post {
                    pending_id: id("-hold"),
                    amount: Some(Amount::from_minor(amount.minor() / 2 + 1).expect("positive")),
                },
                ..single("-post", load_account(from), load_account(to), amount, false)
            },
        ],
    }
}

/// Creates and funds the load accounts; safe to repeat.
pub async fn setup(
    db: &store::Db,
    ledger: &Ledger,
    accounts: usize,
    funding: i64,
) -> anyhow::Result<()> {
    let eth = AssetCode::parse("ETH").expect("valid");
    db.create_synthetic_accounts("load:", accounts, &eth)
        .await?;
    let fund: Vec<Transfer> = (0..accounts)
        .map(|n| Transfer {
            id: TransferId::parse(&format!("load-funding-{n}")).expect("valid"),
            kind: TransferKind::Single {
                debit: equity_account_id(&eth),
                credit: load_account(n),
                amount: Amount::from_minor(funding).expect("positive"),
            },
            asset: eth.clone(),
            code: ledger::codes::LOAD_TEST,
            reference: "load:funding".into(),
            linked: false,
        })
        .collect();
    for chunk in fund.chunks(1000) {
        let results = ledger
            .submit(chunk.to_vec())
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        anyhow::ensure!(
            results.iter().all(|r| r.code == ledger::ResultCode::Ok),
            "funding refused"
        );
    }
    Ok(())
}

pub async fn run(config: &Config, args: LoadArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.accounts >= 2, "--accounts must be at least 2");
    let db = ops::open(config).await?;
    let ledger = Ledger::start(db.clone(), config.ledger, None).await?;
    if args.setup {
        setup(&db, &ledger, args.accounts, args.funding).await?;
    }
    let next = Arc::new(AtomicU64::new(args.start));
    let end = args.start + args.count;
    let stdout = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (ledger, next, stdout) = (ledger.clone(), next.clone(), stdout.clone());
        let (seed, accounts) = (args.seed, args.accounts);
        tasks.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= end {
                    return Ok::<(), anyhow::Error>(());
                }
                let results = ledger
                    .submit(request(seed, index, accounts))
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                let codes = results
                    .iter()
                    .map(|r| r.code.as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                let replayed = results.iter().all(|r| r.replayed);
                let mut out = stdout.lock().expect("stdout lock");
                writeln!(out, "ack {index} {codes} {replayed}")?;
                out.flush()?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    println!("done");
    Ok(ExitCode::SUCCESS)
}
