//! The asset catalogue as customers see it: codes, names, chains and display order.
//!
//! Read-only here; the rows come from migrations. Ledger arithmetic needs only code and
//! decimals, which [`Db::assets`] loads; this module is for showing assets to people.

use anyhow::Context;
use ledger::AssetCode;
use sqlx::Row;

use crate::Db;

/// One asset as listed to customers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetListing {
    pub code: AssetCode,
    pub name: String,
    /// Digits after the decimal point in amounts of this asset.
    pub decimals: u8,
    /// The chain deposits and withdrawals of this asset travel on, e.g. `ethereum`.
    pub chain: String,
}

impl Db {
    /// Every configured asset with its name and chain, in display order.
    pub async fn asset_listing(&self) -> anyhow::Result<Vec<AssetListing>> {
        let rows =
            sqlx::query("SELECT code, name, decimals, chain FROM assets ORDER BY position, code")
                .fetch_all(self.pool())
                .await
                .context("while listing assets with their names")?;
        rows.iter()
            .map(|row| {
                let code: String = row.try_get("code")?;
                let decimals: i64 = row.try_get("decimals")?;
                Ok(AssetListing {
                    code: AssetCode::parse(&code).context("stored asset code")?,
                    name: row.try_get("name")?,
                    decimals: u8::try_from(decimals)
                        .ok()
                        .filter(|d| *d <= 18)
                        .context("stored decimals")?,
                    chain: row.try_get("chain")?,
                })
            })
            .collect()
    }
}
