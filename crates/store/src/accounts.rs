//! Ledger accounts and assets: creating them and reading their totals.

use anyhow::Context;
use ledger::{Account, AccountFlags, AccountId, Asset, AssetCode};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{now_ms, Db};

/// What an account is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountKind {
    /// A customer's balance in one asset: debits must not exceed credits.
    User,
    /// The operator's equity in one asset: the other side of manual adjustments.
    Equity,
    /// Synthetic customer-like accounts for benchmarks and load tests.
    Synthetic,
    /// What the operator holds on chain in one asset: debited by deposits, credited by
    /// withdrawals.
    Custody,
    /// The operator's income from withdrawal fees (later: conversion and payment fees).
    Fees,
    /// Gas the hot wallet paid, an expense in the chain's native asset.
    NetworkFees,
    /// The operator's inventory for conversions in one asset: customers' conversions are
    /// filled from it and paid into it; it can never go below zero.
    Liquidity,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::User => "user",
            AccountKind::Equity => "equity",
            AccountKind::Synthetic => "synthetic",
            AccountKind::Custody => "custody",
            AccountKind::Fees => "fees",
            AccountKind::NetworkFees => "network_fees",
            AccountKind::Liquidity => "liquidity",
        }
    }

    pub(crate) fn flags(self) -> AccountFlags {
        match self {
            AccountKind::User | AccountKind::Synthetic | AccountKind::Liquidity => {
                AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS
            }
            AccountKind::Equity
            | AccountKind::Custody
            | AccountKind::Fees
            | AccountKind::NetworkFees => AccountFlags::NONE,
        }
    }
}

/// The id of a user's account in an asset.
pub fn user_account_id(user_id: &str, asset: &AssetCode) -> AccountId {
    AccountId::parse(&format!("user:{user_id}:{asset}")).expect("user ids are printable")
}

/// The id of the operator's equity account in an asset.
pub fn equity_account_id(asset: &AssetCode) -> AccountId {
    system_account_id(AccountKind::Equity, asset)
}

/// The id of an operator account (equity, custody, fees, network fees) in an asset.
pub fn system_account_id(kind: AccountKind, asset: &AssetCode) -> AccountId {
    AccountId::parse(&format!("{}:{asset}", kind.as_str())).expect("asset codes are printable")
}

/// Every kind of operator account; each asset has one of each.
pub const SYSTEM_KINDS: [AccountKind; 5] = [
    AccountKind::Equity,
    AccountKind::Custody,
    AccountKind::Fees,
    AccountKind::NetworkFees,
    AccountKind::Liquidity,
];

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, asset, flags, debits_pending, debits_posted, credits_pending, credits_posted";

pub(crate) fn account_from_row(row: &AnyRow) -> anyhow::Result<Account> {
    account_from_parts(
        &row.try_get::<String, _>("id")?,
        &row.try_get::<String, _>("asset")?,
        row.try_get("flags")?,
        [
            row.try_get("debits_pending")?,
            row.try_get("debits_posted")?,
            row.try_get("credits_pending")?,
            row.try_get("credits_posted")?,
        ],
    )
}

/// An account from its stored columns; `totals` in the order debits_pending, debits_posted,
/// credits_pending, credits_posted.
pub(crate) fn account_from_parts(
    id: &str,
    asset: &str,
    flags: i64,
    totals: [i64; 4],
) -> anyhow::Result<Account> {
    let [debits_pending, debits_posted, credits_pending, credits_posted] = totals;
    Ok(Account {
        id: AccountId::parse(id).context("stored account id")?,
        asset: AssetCode::parse(asset).context("stored asset code")?,
        flags: u16::try_from(flags)
            .ok()
            .and_then(AccountFlags::from_bits)
            .context("stored account flags")?,
        debits_pending,
        debits_posted,
        credits_pending,
        credits_posted,
    })
}

impl Db {
    /// Every configured asset, in display order (read from the database once: only migrations
    /// write the assets table).
    pub async fn assets(&self) -> anyhow::Result<Vec<Asset>> {
        Ok(self
            .assets
            .get_or_try_init(|| self.load_assets())
            .await?
            .clone())
    }

    async fn load_assets(&self) -> anyhow::Result<Vec<Asset>> {
        let rows = sqlx::query("SELECT code, decimals FROM assets ORDER BY position, code")
            .fetch_all(self.pool())
            .await
            .context("while listing assets")?;
        rows.iter()
            .map(|row| {
                let code: String = row.try_get("code")?;
                let decimals: i64 = row.try_get("decimals")?;
                Ok(Asset {
                    code: AssetCode::parse(&code).context("stored asset code")?,
                    decimals: u8::try_from(decimals)
                        .ok()
                        .filter(|d| *d <= 18)
                        .context("stored decimals")?,
                })
            })
            .collect()
    }

    /// Creates the account if it is missing; returns its id either way.
    pub async fn ensure_account(
        &self,
        kind: AccountKind,
        asset: &AssetCode,
        user_id: Option<&str>,
    ) -> anyhow::Result<AccountId> {
        let id = match (kind, user_id) {
            (AccountKind::User, Some(user)) => user_account_id(user, asset),
            (AccountKind::User, None) | (AccountKind::Synthetic, _) => {
                anyhow::bail!("a user account needs a user; synthetic ones are made in bulk")
            }
            (kind, None) => system_account_id(kind, asset),
            (_, Some(_)) => anyhow::bail!("only user accounts belong to a user"),
        };
        sqlx::query(
            "INSERT INTO ledger_accounts (id, asset, kind, user_id, flags, debits_pending, \
             debits_posted, credits_pending, credits_posted, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, 0, 0, 0, 0, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(asset.as_str())
        .bind(kind.as_str())
        .bind(user_id)
        .bind(i64::from(kind.flags().bits()))
        .bind(now_ms())
        .execute(self.pool())
        .await
        .with_context(|| format!("while creating account {id}"))?;
        Ok(id)
    }

    /// Creates the operator accounts (equity, custody, fees, network fees) of every asset.
    pub async fn ensure_system_accounts(&self) -> anyhow::Result<()> {
        for asset in self.assets().await? {
            for kind in SYSTEM_KINDS {
                self.ensure_account(kind, &asset.code, None).await?;
            }
        }
        Ok(())
    }

    /// Creates synthetic accounts (`<prefix><n>` for n in 0..count) that do not exist yet.
    pub async fn create_synthetic_accounts(
        &self,
        prefix: &str,
        count: usize,
        asset: &AssetCode,
    ) -> anyhow::Result<Vec<AccountId>> {
        let ids: Vec<AccountId> = (0..count)
            .map(|n| AccountId::parse(&format!("{prefix}{n}")).context("synthetic account id"))
            .collect::<anyhow::Result<_>>()?;
        let flags = i64::from(AccountKind::Synthetic.flags().bits());
        let mut rest = &ids[..];
        for size in crate::chunk_sizes(ids.len()) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let rows = (0..size)
                .map(|i| format!("(${}, $1, 'synthetic', NULL, $2, 0, 0, 0, 0, $3)", i + 4))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO ledger_accounts (id, asset, kind, user_id, flags, debits_pending, debits_posted, \
                 credits_pending, credits_posted, created_at_ms) VALUES {rows} ON CONFLICT (id) DO NOTHING"
            );
            let mut query = sqlx::query(&sql)
                .bind(asset.as_str())
                .bind(flags)
                .bind(now_ms());
            for id in chunk {
                query = query.bind(id.as_str());
            }
            query
                .execute(self.pool())
                .await
                .context("while creating synthetic accounts")?;
        }
        Ok(ids)
    }

    pub async fn account(&self, id: &AccountId) -> anyhow::Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await
            .context("while reading an account")?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Every account, ordered by id.
    pub async fn all_accounts(&self) -> anyhow::Result<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts ORDER BY id");
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .context("while listing accounts")?;
        rows.iter().map(account_from_row).collect()
    }
}
