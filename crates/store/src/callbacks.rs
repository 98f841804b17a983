//! Callbacks' rows: the request beside its ticket, and its numbered tries. A claim is taken by
//! one conditional `UPDATE` (so of two agents claiming at once exactly one wins, on either
//! backend), and a try is recorded only by the agent holding a live claim, for the try number
//! the caller read — in the same transaction as the callback's new state — so a try sent twice
//! is recorded once.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::Db;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callback {
    pub id: String,
    pub ticket_id: String,
    pub customer_id: String,
    pub phone_e164: String,
    pub hotline_id: String,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    /// requested, done, missed, cancelled.
    pub state: String,
    /// The last try's outcome once done or missed.
    pub outcome: Option<String>,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub claimed_by: Option<String>,
    pub claimed_until_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub closed_at_ms: Option<i64>,
}

impl Callback {
    /// The agent whose claim runs at `now_ms`, if any.
    pub fn claimant_at(&self, now_ms: i64) -> Option<&str> {
        match (&self.claimed_by, self.claimed_until_ms) {
            (Some(agent), Some(until)) if until > now_ms => Some(agent),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackAttempt {
    pub callback_id: String,
    pub n: i64,
    pub agent_id: String,
    /// reached, no_answer, busy, voicemail, wrong_number.
    pub outcome: String,
    pub notes: String,
    pub at_ms: i64,
}

/// What a try leaves the callback as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackAfter {
    pub state: String,
    pub outcome: Option<String>,
    pub next_attempt_at_ms: i64,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
}

const COLUMNS: &str = "id, ticket_id, customer_id, phone_e164, hotline_id, window_start_ms, \
     window_end_ms, state, outcome, attempts, next_attempt_at_ms, claimed_by, claimed_until_ms, \
     created_at_ms, updated_at_ms, closed_at_ms";
const ATTEMPT_COLUMNS: &str = "callback_id, n, agent_id, outcome, notes, at_ms";

fn from_row(r: &AnyRow) -> anyhow::Result<Callback> {
    Ok(Callback {
        id: r.try_get("id")?,
        ticket_id: r.try_get("ticket_id")?,
        customer_id: r.try_get("customer_id")?,
        phone_e164: r.try_get("phone_e164")?,
        hotline_id: r.try_get("hotline_id")?,
        window_start_ms: r.try_get("window_start_ms")?,
        window_end_ms: r.try_get("window_end_ms")?,
        state: r.try_get("state")?,
        outcome: r.try_get("outcome")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at_ms: r.try_get("next_attempt_at_ms")?,
        claimed_by: r.try_get("claimed_by")?,
        claimed_until_ms: r.try_get("claimed_until_ms")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        closed_at_ms: r.try_get("closed_at_ms")?,
    })
}

fn attempt_from_row(r: &AnyRow) -> anyhow::Result<CallbackAttempt> {
    Ok(CallbackAttempt {
        callback_id: r.try_get("callback_id")?,
        n: r.try_get("n")?,
        agent_id: r.try_get("agent_id")?,
        outcome: r.try_get("outcome")?,
        notes: r.try_get("notes")?,
        at_ms: r.try_get("at_ms")?,
    })
}

impl Db {
    pub async fn create_callback(&self, c: &Callback) -> anyhow::Result<()> {
        let sql = format!(
            "INSERT INTO callbacks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16)"
        );
        sqlx::query(&sql)
            .bind(&c.id)
            .bind(&c.ticket_id)
            .bind(&c.customer_id)
            .bind(&c.phone_e164)
            .bind(&c.hotline_id)
            .bind(c.window_start_ms)
            .bind(c.window_end_ms)
            .bind(&c.state)
            .bind(&c.outcome)
            .bind(c.attempts)
            .bind(c.next_attempt_at_ms)
            .bind(&c.claimed_by)
            .bind(c.claimed_until_ms)
            .bind(c.created_at_ms)
            .bind(c.updated_at_ms)
            .bind(c.closed_at_ms)
            .execute(self.pool())
            .await
            .context("while storing a callback")?;
        Ok(())
    }

    pub async fn callback(&self, id: &str) -> anyhow::Result<Option<Callback>> {
        let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a callback")?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// A customer's callbacks, newest first.
    pub async fn callbacks_of(
        &self,
        customer_id: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<Callback>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM callbacks WHERE customer_id = $1 \
             ORDER BY created_at_ms DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(customer_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while reading a customer's callbacks")?;
        rows.iter().map(from_row).collect()
    }

    /// How many callbacks a customer has waiting.
    pub async fn pending_callbacks(&self, customer_id: &str) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT count(*) AS n FROM callbacks WHERE customer_id = $1 AND state = 'requested'",
        )
        .bind(customer_id)
        .fetch_one(self.pool())
        .await
        .context("while counting a customer's callbacks")?;
        Ok(row.try_get("n")?)
    }

    /// The queue: callbacks waiting for a try, the one due first first.
    pub async fn callback_queue(&self, limit: i64) -> anyhow::Result<Vec<Callback>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM callbacks WHERE state = 'requested' \
             ORDER BY next_attempt_at_ms, id LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while reading the callback queue")?;
        rows.iter().map(from_row).collect()
    }

    /// Gives `agent_id` the callback until `until_ms`, if it waits for a try due by
    /// `due_by_ms` and nobody else holds a live claim (the agent's own claim is extended). The
    /// callback as claimed, or `None` when the claim was not given.
    pub async fn claim_callback(
        &self,
        id: &str,
        agent_id: &str,
        now_ms: i64,
        until_ms: i64,
        due_by_ms: i64,
    ) -> anyhow::Result<Option<Callback>> {
        let sql = format!(
            "UPDATE callbacks SET claimed_by = $1, claimed_until_ms = $2, updated_at_ms = $3 \
             WHERE id = $4 AND state = 'requested' AND next_attempt_at_ms <= $5 \
             AND (claimed_by IS NULL OR claimed_until_ms <= $6 OR claimed_by = $7) \
             RETURNING {COLUMNS}"
        );
        sqlx::query(&sql)
            .bind(agent_id)
            .bind(until_ms)
            .bind(now_ms)
            .bind(id)
            .bind(due_by_ms)
            .bind(now_ms)
            .bind(agent_id)
            .fetch_optional(self.pool())
            .await
            .context("while claiming a callback")?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Records try `attempt` (its `n` must be one more than the tries recorded) by the agent
    /// holding a live claim, and leaves the callback as `after`, unclaimed. False when the
    /// callback is not as the caller read it (not waiting, not claimed by this agent, the claim
    /// lapsed, or the try was recorded already).
    pub async fn record_callback_attempt(
        &self,
        attempt: &CallbackAttempt,
        after: &CallbackAfter,
    ) -> anyhow::Result<bool> {
        let mut tx = self.begin_write().await?;
        let closed_at = (after.state != "requested").then_some(attempt.at_ms);
        let updated = sqlx::query(
            "UPDATE callbacks SET attempts = $1, state = $2, outcome = $3, \
             next_attempt_at_ms = $4, window_start_ms = $5, window_end_ms = $6, \
             claimed_by = NULL, claimed_until_ms = NULL, updated_at_ms = $7, closed_at_ms = $8 \
             WHERE id = $9 AND state = 'requested' AND attempts = $10 AND claimed_by = $11 \
             AND claimed_until_ms > $12",
        )
        .bind(attempt.n)
        .bind(&after.state)
        .bind(&after.outcome)
        .bind(after.next_attempt_at_ms)
        .bind(after.window_start_ms)
        .bind(after.window_end_ms)
        .bind(attempt.at_ms)
        .bind(closed_at)
        .bind(&attempt.callback_id)
        .bind(attempt.n - 1)
        .bind(&attempt.agent_id)
        .bind(attempt.at_ms)
        .execute(&mut *tx)
        .await
        .context("while recording a callback try")?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        let sql = format!(
            "INSERT INTO callback_attempts ({ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        );
        sqlx::query(&sql)
            .bind(&attempt.callback_id)
            .bind(attempt.n)
            .bind(&attempt.agent_id)
            .bind(&attempt.outcome)
            .bind(&attempt.notes)
            .bind(attempt.at_ms)
            .execute(&mut *tx)
            .await
            .context("while recording a callback try")?;
        tx.commit()
            .await
            .context("while recording a callback try")?;
        Ok(true)
    }

    /// The customer cancels a callback that still waits; whether it did.
    pub async fn cancel_callback(
        &self,
        id: &str,
        customer_id: &str,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE callbacks SET state = 'cancelled', claimed_by = NULL, \
             claimed_until_ms = NULL, updated_at_ms = $1, closed_at_ms = $2 \
             WHERE id = $3 AND customer_id = $4 AND state = 'requested'",
        )
        .bind(now_ms)
        .bind(now_ms)
        .bind(id)
        .bind(customer_id)
        .execute(self.pool())
        .await
        .context("while cancelling a callback")?;
        Ok(done.rows_affected() == 1)
    }

    /// A callback's tries, first first.
    pub async fn callback_attempts(&self, id: &str) -> anyhow::Result<Vec<CallbackAttempt>> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM callback_attempts WHERE callback_id = $1 ORDER BY n"
        );
        let rows = sqlx::query(&sql)
            .bind(id)
            .fetch_all(self.pool())
            .await
            .context("while reading a callback's tries")?;
        rows.iter().map(attempt_from_row).collect()
    }
}
