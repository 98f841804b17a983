//! Recomputing every balance from the journal, for `okwallet ledger verify`.

use std::collections::HashMap;

use anyhow::Context;
use ledger::verify::{check_accounts, Discrepancy, Totals};
use ledger::AccountId;
use sqlx::Row;

use crate::Db;

/// What verification found, and how much it looked at.
#[derive(Debug)]
pub struct VerifyReport {
    pub accounts: usize,
    pub transfers: i64,
    pub discrepancies: Vec<Discrepancy>,
}

/// Rows that break a rule on their own; each query returns offending ids with a description.
const ROW_CHECKS: &[(&str, &str)] = &[
    (
        "its accounts are of another asset than the transfer",
        "SELECT t.id FROM ledger_transfers t \
         JOIN ledger_accounts d ON d.id = t.debit_account_id \
         JOIN ledger_accounts c ON c.id = t.credit_account_id \
         WHERE t.result = 'ok' AND (d.asset <> t.asset OR c.asset <> t.asset)",
    ),
    (
        "a successful transfer without both accounts, or with a negative amount",
        "SELECT id FROM ledger_transfers WHERE result = 'ok' \
         AND (debit_account_id IS NULL OR credit_account_id IS NULL OR amount < 0 \
         OR (kind IN ('single', 'pending') AND amount = 0))",
    ),
    (
        "it closes something that is not an open pending transfer, with other accounts, or for more than was held",
        "SELECT c.id FROM ledger_transfers c JOIN ledger_transfers p ON p.id = c.pending_id \
         WHERE c.result = 'ok' AND (p.kind <> 'pending' OR p.result <> 'ok' \
         OR c.debit_account_id <> p.debit_account_id OR c.credit_account_id <> p.credit_account_id \
         OR c.amount > p.amount OR c.asset <> p.asset)",
    ),
    (
        "it closes a pending transfer that does not exist",
        "SELECT c.id FROM ledger_transfers c WHERE c.result = 'ok' AND c.pending_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM ledger_transfers p WHERE p.id = c.pending_id)",
    ),
];

/// Sums per account: (column, SQL). Posted totals come from single transfers and posts; pending
/// totals from pending transfers nothing has closed.
const SUMS: &[(&str, &str)] = &[
    (
        "debits_posted",
        "SELECT debit_account_id AS account, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_transfers \
         WHERE result = 'ok' AND kind IN ('single', 'post') GROUP BY debit_account_id",
    ),
    (
        "credits_posted",
        "SELECT credit_account_id AS account, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_transfers \
         WHERE result = 'ok' AND kind IN ('single', 'post') GROUP BY credit_account_id",
    ),
    (
        "debits_pending",
        "SELECT p.debit_account_id AS account, CAST(SUM(p.amount) AS BIGINT) AS total FROM ledger_transfers p \
         WHERE p.result = 'ok' AND p.kind = 'pending' AND NOT EXISTS \
         (SELECT 1 FROM ledger_transfers c WHERE c.pending_id = p.id AND c.result = 'ok') GROUP BY p.debit_account_id",
    ),
    (
        "credits_pending",
        "SELECT p.credit_account_id AS account, CAST(SUM(p.amount) AS BIGINT) AS total FROM ledger_transfers p \
         WHERE p.result = 'ok' AND p.kind = 'pending' AND NOT EXISTS \
         (SELECT 1 FROM ledger_transfers c WHERE c.pending_id = p.id AND c.result = 'ok') GROUP BY p.credit_account_id",
    ),
];

impl Db {
    /// Recomputes every account from the journal and checks the ledger's invariants. Reads in
    /// one transaction so that a running server's commits do not show up half-way.
    pub async fn verify_ledger(&self) -> anyhow::Result<VerifyReport> {
        let mut tx = self.pool().begin().await?;
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!(
            "SELECT {} FROM ledger_accounts ORDER BY id",
            crate::accounts::ACCOUNT_COLUMNS
        );
        let accounts = sqlx::query(&sql)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(crate::accounts::account_from_row)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut journal: HashMap<AccountId, Totals> = HashMap::new();
        for (column, sql) in SUMS {
            for row in sqlx::query(sql)
                .fetch_all(&mut *tx)
                .await
                .with_context(|| format!("while summing {column}"))?
            {
                let account: String = row.try_get("account")?;
                let total: i64 = row.try_get("total")?;
                let totals = journal
                    .entry(AccountId::parse(&account).context("stored account id")?)
                    .or_default();
                match *column {
                    "debits_posted" => totals.debits_posted = total,
                    "credits_posted" => totals.credits_posted = total,
                    "debits_pending" => totals.debits_pending = total,
                    _ => totals.credits_pending = total,
                }
            }
        }
        let mut discrepancies = check_accounts(&accounts, &journal);
        for (problem, sql) in ROW_CHECKS {
            for row in sqlx::query(sql).fetch_all(&mut *tx).await? {
                let id: String = row.try_get(0)?;
                discrepancies.push(Discrepancy::BadTransfer {
                    transfer: id,
                    problem: (*problem).to_owned(),
                });
            }
        }
        let transfers: i64 =
            sqlx::query("SELECT COUNT(*) FROM ledger_transfers WHERE result = 'ok'")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        tx.rollback().await?;
        Ok(VerifyReport {
            accounts: accounts.len(),
            transfers,
            discrepancies,
        })
    }
}
