//! The journal's statements: loading what a batch touches and writing what it produced.
//!
//! Called by the [`crate::writer`] inside one transaction per batch. On PostgreSQL the accounts
//! are locked (`FOR UPDATE`, in id order, so two nodes never deadlock on each other's order)
//! before the transfers and closures are read, so the batch sees every commit that happened
//! before it got its locks. On SQLite the transaction is `BEGIN IMMEDIATE`, which already
//! excludes every other writer.

use std::collections::BTreeSet;

use anyhow::Context;
use ledger::{
    AccountId, AssetCode, BatchState, ResultCode, StoredTransfer, Transfer, TransferId,
    TransferKindTag,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::{account_from_parts, account_from_row, ACCOUNT_COLUMNS};
use crate::{padded, placeholders, Backend, Db};

pub(crate) const TRANSFER_COLUMNS: &str = "id, result, kind, debit_account_id, credit_account_id, \
     asset, amount, pending_id, expires_at, code, reference, linked, fingerprint, timestamp";
const TRANSFER_COLUMN_COUNT: usize = 14;

// Statements are sized exactly to the batch: a few dozen prepared shapes cost less than the
// round trips of splitting every batch into fixed sizes. The limits keep the parameter count
// under SQLite's 32,766.
const TRANSFER_INSERT_CHUNK_MAX: usize = 1024;
const ACCOUNT_UPDATE_CHUNK_MAX: usize = 2048;

pub(crate) fn transfer_from_row(row: &AnyRow) -> anyhow::Result<StoredTransfer> {
    let text = |name: &str| -> anyhow::Result<String> { Ok(row.try_get::<String, _>(name)?) };
    let opt = |name: &str| -> anyhow::Result<Option<String>> {
        Ok(row.try_get::<Option<String>, _>(name)?)
    };
    let account = |v: Option<String>| {
        v.map(|s| AccountId::parse(&s).context("stored account id"))
            .transpose()
    };
    let transfer_id = |v: Option<String>| {
        v.map(|s| TransferId::parse(&s).context("stored transfer id"))
            .transpose()
    };
    let code: i64 = row.try_get("code")?;
    Ok(StoredTransfer {
        id: TransferId::parse(&text("id")?).context("stored transfer id")?,
        result: ResultCode::parse(&text("result")?).context("stored result code")?,
        kind: TransferKindTag::parse(&text("kind")?).context("stored transfer kind")?,
        debit_account_id: account(opt("debit_account_id")?)?,
        credit_account_id: account(opt("credit_account_id")?)?,
        asset: AssetCode::parse(&text("asset")?).context("stored asset")?,
        amount: row.try_get("amount")?,
        pending_id: transfer_id(opt("pending_id")?)?,
        expires_at: row.try_get("expires_at")?,
        code: u16::try_from(code).context("stored transfer code")?,
        reference: text("reference")?,
        linked: row.try_get::<i64, _>("linked")? != 0,
        fingerprint: text("fingerprint")?,
        timestamp: row.try_get("timestamp")?,
    })
}

/// Loads every account, transfer and closure `requests` may touch, locking the accounts.
pub(crate) async fn load_batch_state(
    conn: &mut AnyConnection,
    backend: Backend,
    requests: &[Vec<Transfer>],
) -> anyhow::Result<BatchState> {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    let mut pending_ids: BTreeSet<&str> = BTreeSet::new();
    let mut account_ids: BTreeSet<String> = BTreeSet::new();
    for t in requests.iter().flatten() {
        ids.insert(t.id.as_str());
        if let Some(p) = t.pending_id() {
            pending_ids.insert(p.as_str());
            ids.insert(p.as_str());
        }
        if let Some((d, c)) = t.named_accounts() {
            account_ids.insert(d.as_str().to_owned());
            account_ids.insert(c.as_str().to_owned());
        }
    }
    let ids: Vec<&str> = ids.into_iter().collect();
    let pending_ids: Vec<&str> = pending_ids.into_iter().collect();

    let mut state = BatchState::default();
    // Pending transfers never change, so their accounts can be read before locking.
    if !pending_ids.is_empty() {
        for t in select_transfers(conn, backend, &pending_ids).await? {
            account_ids.extend(t.debit_account_id.iter().map(|a| a.as_str().to_owned()));
            account_ids.extend(t.credit_account_id.iter().map(|a| a.as_str().to_owned()));
        }
    }
    let account_ids: Vec<String> = account_ids.into_iter().collect();
    for chunk in account_ids.chunks(1024) {
        for account in select_accounts(conn, backend, &padded(chunk)).await? {
            state.accounts.insert(account.id.clone(), account);
        }
    }
    for t in select_transfers(conn, backend, &ids).await? {
        state.transfers.insert(t.id.clone(), t);
    }
    for chunk in pending_ids.chunks(1024) {
        let list = padded(chunk);
        let sql = format!(
            "SELECT pending_id, kind FROM ledger_transfers WHERE result = 'ok' AND pending_id IN ({})",
            placeholders(backend, 1, list.len())
        );
        let mut query = sqlx::query(&sql);
        for id in &list {
            query = query.bind(*id);
        }
        for row in query
            .fetch_all(&mut *conn)
            .await
            .context("while loading closures")?
        {
            let pending: String = row.try_get("pending_id")?;
            let kind: String = row.try_get("kind")?;
            state.closures.insert(
                TransferId::parse(&pending).context("stored pending id")?,
                TransferKindTag::parse(&kind).context("stored kind")?,
            );
        }
    }
    Ok(state)
}

/// Loads accounts by id, locking them on PostgreSQL.
///
/// On SQLite the rows come back as one JSON array in one row: sqlx hands every result row from
/// its SQLite worker thread to the caller separately, and for a batch's hundred accounts those
/// hand-offs cost more than the query (measured: the writer's time was mostly thread switches).
async fn select_accounts(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[String],
) -> anyhow::Result<Vec<ledger::Account>> {
    let list = placeholders(backend, 1, ids.len());
    let sql = match backend {
        Backend::Postgres => format!(
            "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id IN ({list}) ORDER BY id FOR UPDATE"
        ),
        Backend::Sqlite => format!(
            "SELECT json_group_array(json_array({ACCOUNT_COLUMNS})) FROM ledger_accounts WHERE id IN ({list})"
        ),
    };
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id.as_str());
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await
        .context("while loading accounts")?;
    if backend == Backend::Postgres {
        return rows.iter().map(account_from_row).collect();
    }
    let json: String = rows
        .first()
        .context("an aggregate returns a row")?
        .try_get(0)?;
    type Row = (String, String, i64, i64, i64, i64, i64);
    let parsed: Vec<Row> = serde_json::from_str(&json).context("while reading accounts")?;
    parsed
        .into_iter()
        .map(|(id, asset, flags, dp, dpo, cp, cpo)| {
            account_from_parts(&id, &asset, flags, [dp, dpo, cp, cpo])
        })
        .collect()
}

async fn select_transfers(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[&str],
) -> anyhow::Result<Vec<StoredTransfer>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(1024) {
        let list = padded(chunk);
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id IN ({})",
            placeholders(backend, 1, list.len())
        );
        let mut query = sqlx::query(&sql);
        for id in &list {
            query = query.bind(*id);
        }
        for row in query
            .fetch_all(&mut *conn)
            .await
            .context("while loading transfers")?
        {
            out.push(transfer_from_row(&row)?);
        }
    }
    Ok(out)
}

/// Writes new journal rows and the final totals of the touched accounts.
pub(crate) async fn write_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    state: &BatchState,
    new_transfers: &[StoredTransfer],
    touched: &[AccountId],
) -> anyhow::Result<()> {
    for chunk in new_transfers.chunks(TRANSFER_INSERT_CHUNK_MAX) {
        let rows = (0..chunk.len())
            .map(|i| {
                format!(
                    "({})",
                    placeholders(
                        backend,
                        1 + i * TRANSFER_COLUMN_COUNT,
                        TRANSFER_COLUMN_COUNT
                    )
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO ledger_transfers ({TRANSFER_COLUMNS}) VALUES {rows}");
        let mut query = sqlx::query(&sql);
        for t in chunk {
            query = query
                .bind(t.id.as_str())
                .bind(t.result.as_str())
                .bind(t.kind.as_str())
                .bind(t.debit_account_id.as_ref().map(|a| a.as_str()))
                .bind(t.credit_account_id.as_ref().map(|a| a.as_str()))
                .bind(t.asset.as_str())
                .bind(t.amount)
                .bind(t.pending_id.as_ref().map(|p| p.as_str()))
                .bind(t.expires_at)
                .bind(i64::from(t.code))
                .bind(t.reference.as_str())
                .bind(i64::from(t.linked))
                .bind(t.fingerprint.as_str())
                .bind(t.timestamp);
        }
        query
            .execute(&mut *conn)
            .await
            .context("while writing transfers")?;
    }
    // Totals are written as absolute values: the rows are locked (or the database is) for the
    // whole transaction, so nobody else changed them since they were read. One statement per
    // chunk joins the table with a VALUES list (`columnN` is the name both databases give).
    for chunk in touched.chunks(ACCOUNT_UPDATE_CHUNK_MAX) {
        let rows = (0..chunk.len())
            .map(|i| format!("({})", placeholders(backend, 1 + i * 5, 5)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE ledger_accounts SET debits_pending = v.column2, debits_posted = v.column3, \
             credits_pending = v.column4, credits_posted = v.column5 \
             FROM (VALUES {rows}) AS v WHERE ledger_accounts.id = v.column1"
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            let a = &state.accounts[id];
            query = query
                .bind(id.as_str())
                .bind(a.debits_pending)
                .bind(a.debits_posted)
                .bind(a.credits_pending)
                .bind(a.credits_posted);
        }
        let done = query
            .execute(&mut *conn)
            .await
            .context("while writing account totals")?;
        anyhow::ensure!(
            done.rows_affected() == chunk.len() as u64,
            "updated {} accounts, expected {}",
            done.rows_affected(),
            chunk.len()
        );
    }
    Ok(())
}

impl Db {
    /// A stored transfer by id, whatever its result.
    pub async fn transfer(&self, id: &TransferId) -> anyhow::Result<Option<StoredTransfer>> {
        let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(transfer_from_row).transpose()
    }

    /// How many journal rows carry this id (0 or 1; the crash tests check it is never more).
    pub async fn count_transfers_with_id(&self, id: &str) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM ledger_transfers WHERE id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The newest timestamp in the journal, so a restarted writer's clock never goes back.
    pub async fn last_transfer_timestamp(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT CAST(MAX(timestamp) AS BIGINT) FROM ledger_transfers")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
    }

    /// Pending transfers whose timeout has passed and that nothing closed yet.
    pub async fn due_pending_transfers(
        &self,
        now_ns: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<StoredTransfer>> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers p WHERE p.kind = 'pending' \
             AND p.result = 'ok' AND p.expires_at IS NOT NULL AND p.expires_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM ledger_transfers c WHERE c.pending_id = p.id AND c.result = 'ok') \
             ORDER BY p.expires_at LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(now_ns)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(transfer_from_row).collect()
    }
}
