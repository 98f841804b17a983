//! Troubleshooter runs (what was found, and whether it ended solved or with a person) and the
//! case codes of prepared calls.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::Db;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    pub id: String,
    /// Empty for a log-in question asked from an email address.
    pub user_id: String,
    pub problem: String,
    pub reference: String,
    /// The findings as JSON.
    pub findings: String,
    /// '' (not known), resolved, escalated.
    pub outcome: String,
    /// ticket:<id> or chat:<id> when escalated.
    pub escalated_to: String,
    pub created_at_ms: i64,
    pub outcome_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseCode {
    pub code: String,
    pub user_id: String,
    pub ticket_id: String,
    pub diagnosis_id: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub opened_at_ms: Option<i64>,
    pub opened_by: Option<String>,
}

/// Runs and outcomes of one problem in a window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deflection {
    pub problem: String,
    pub runs: i64,
    pub resolved: i64,
    pub escalated: i64,
}

const DIAGNOSIS_COLUMNS: &str =
    "id, user_id, problem, reference, findings, outcome, escalated_to, created_at_ms, outcome_at_ms";
const CASE_COLUMNS: &str =
    "code, user_id, ticket_id, diagnosis_id, created_at_ms, expires_at_ms, opened_at_ms, opened_by";

fn diagnosis_from_row(r: &AnyRow) -> anyhow::Result<Diagnosis> {
    Ok(Diagnosis {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        problem: r.try_get("problem")?,
        reference: r.try_get("reference")?,
        findings: r.try_get("findings")?,
        outcome: r.try_get("outcome")?,
        escalated_to: r.try_get("escalated_to")?,
        created_at_ms: r.try_get("created_at_ms")?,
        outcome_at_ms: r.try_get("outcome_at_ms")?,
    })
}

fn case_from_row(r: &AnyRow) -> anyhow::Result<CaseCode> {
    Ok(CaseCode {
        code: r.try_get("code")?,
        user_id: r.try_get("user_id")?,
        ticket_id: r.try_get("ticket_id")?,
        diagnosis_id: r.try_get("diagnosis_id")?,
        created_at_ms: r.try_get("created_at_ms")?,
        expires_at_ms: r.try_get("expires_at_ms")?,
        opened_at_ms: r.try_get("opened_at_ms")?,
        opened_by: r.try_get("opened_by")?,
    })
}

impl Db {
    pub async fn insert_diagnosis(&self, d: &Diagnosis) -> anyhow::Result<()> {
        let sql = format!(
            "INSERT INTO diagnoses ({DIAGNOSIS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        sqlx::query(&sql)
            .bind(&d.id)
            .bind(&d.user_id)
            .bind(&d.problem)
            .bind(&d.reference)
            .bind(&d.findings)
            .bind(&d.outcome)
            .bind(&d.escalated_to)
            .bind(d.created_at_ms)
            .bind(d.outcome_at_ms)
            .execute(self.pool())
            .await
            .context("while keeping a troubleshooter run")?;
        Ok(())
    }

    pub async fn diagnosis(&self, id: &str) -> anyhow::Result<Option<Diagnosis>> {
        let sql = format!("SELECT {DIAGNOSIS_COLUMNS} FROM diagnoses WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a troubleshooter run")?
            .as_ref()
            .map(diagnosis_from_row)
            .transpose()
    }

    /// Records how a run ended: `resolved` only while nothing is known yet; `escalated` also
    /// over `resolved` (the person changed their mind). Whether it changed.
    pub async fn set_diagnosis_outcome(
        &self,
        id: &str,
        outcome: &str,
        escalated_to: &str,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let sql = if outcome == "escalated" {
            "UPDATE diagnoses SET outcome = $1, escalated_to = $2, outcome_at_ms = $3 \
             WHERE id = $4 AND outcome <> 'escalated'"
        } else {
            "UPDATE diagnoses SET outcome = $1, escalated_to = $2, outcome_at_ms = $3 \
             WHERE id = $4 AND outcome = ''"
        };
        let done = sqlx::query(sql)
            .bind(outcome)
            .bind(escalated_to)
            .bind(now_ms)
            .bind(id)
            .execute(self.pool())
            .await
            .context("while recording a troubleshooter's outcome")?;
        Ok(done.rows_affected() == 1)
    }

    /// Runs per problem started in [from_ms, to_ms), and how many ended solved or escalated.
    pub async fn deflection(&self, from_ms: i64, to_ms: i64) -> anyhow::Result<Vec<Deflection>> {
        let rows = sqlx::query(
            "SELECT problem, COUNT(*) AS runs, \
             CAST(SUM(CASE WHEN outcome = 'resolved' THEN 1 ELSE 0 END) AS BIGINT) AS resolved, \
             CAST(SUM(CASE WHEN outcome = 'escalated' THEN 1 ELSE 0 END) AS BIGINT) AS escalated \
             FROM diagnoses WHERE created_at_ms >= $1 AND created_at_ms < $2 \
             GROUP BY problem ORDER BY problem",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await
        .context("while counting troubleshooter runs")?;
        rows.iter()
            .map(|r| {
                Ok(Deflection {
                    problem: r.try_get("problem")?,
                    runs: r.try_get("runs")?,
                    resolved: r.try_get("resolved")?,
                    escalated: r.try_get("escalated")?,
                })
            })
            .collect()
    }

    /// Stores a case code unless a live one holds it (then `false`: draw another). An expired
    /// holder of the same code is replaced.
    pub async fn insert_case_code(&self, c: &CaseCode) -> anyhow::Result<bool> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM case_codes WHERE code = $1 AND expires_at_ms <= $2")
            .bind(&c.code)
            .bind(c.created_at_ms)
            .execute(&mut *tx)
            .await
            .context("while clearing an expired case code")?;
        let sql = format!(
            "INSERT INTO case_codes ({CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT DO NOTHING"
        );
        let done = sqlx::query(&sql)
            .bind(&c.code)
            .bind(&c.user_id)
            .bind(&c.ticket_id)
            .bind(&c.diagnosis_id)
            .bind(c.created_at_ms)
            .bind(c.expires_at_ms)
            .bind(c.opened_at_ms)
            .bind(&c.opened_by)
            .execute(&mut *tx)
            .await
            .context("while keeping a case code")?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn case_code(&self, code: &str) -> anyhow::Result<Option<CaseCode>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM case_codes WHERE code = $1");
        sqlx::query(&sql)
            .bind(code)
            .fetch_optional(self.pool())
            .await
            .context("while reading a case code")?
            .as_ref()
            .map(case_from_row)
            .transpose()
    }

    /// A customer's live case codes, newest first.
    pub async fn case_codes_of(&self, user_id: &str, now_ms: i64) -> anyhow::Result<Vec<CaseCode>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM case_codes WHERE user_id = $1 AND expires_at_ms > $2 \
             ORDER BY created_at_ms DESC LIMIT 10"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(now_ms)
            .fetch_all(self.pool())
            .await
            .context("while reading case codes")?;
        rows.iter().map(case_from_row).collect()
    }

    /// The first agent to open a case code is recorded.
    pub async fn open_case_code(
        &self,
        code: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE case_codes SET opened_at_ms = $1, opened_by = $2 \
             WHERE code = $3 AND opened_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(agent_id)
        .bind(code)
        .execute(self.pool())
        .await
        .context("while opening a case code")?;
        Ok(())
    }
}
