//! Live support's rows: customers' phone numbers, agents' badges, mutual verification requests,
//! the PBX's call events with the calls they make, and blocked numbers. What a call's events
//! mean is `helpdesk::cti`'s rule; this module stores.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::Db;

/// How many wrong codes a verification request takes before it fails.
pub const VERIFICATION_ATTEMPTS_MAX: i64 = 5;

/// A request to verify a customer, with its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub id: String,
    pub customer_id: String,
    pub agent_id: String,
    /// `ticket:<id>`, `call:<id>` or empty.
    pub context: String,
    pub code: String,
    /// pending, verified, failed, cancelled.
    pub state: String,
    pub attempts: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub verified_at_ms: Option<i64>,
    pub valid_until_ms: Option<i64>,
}

/// What typing a code did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeOutcome {
    Verified(Verification),
    /// Wrong; this many tries are left (0: the request failed).
    Wrong {
        attempts_left: i64,
    },
    /// The request is not pending any more (verified, failed, cancelled) or has expired.
    NotPending(Verification),
    NotFound,
}

/// A call as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRow {
    pub call_id: String,
    pub direction: String,
    pub from_number: String,
    pub to_number: String,
    pub remote_e164: Option<String>,
    pub customer_id: Option<String>,
    pub queue: String,
    /// Comma-separated names the PBX gave (badges or emails).
    pub pbx_users: String,
    pub agent_id: Option<String>,
    pub answering_number: String,
    pub state: String,
    pub cause: String,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    pub updated_at_ms: i64,
    pub called_back_at_ms: Option<i64>,
    pub called_back_by: Option<String>,
}

/// A stored PBX event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtiEventRow {
    pub call_id: String,
    pub event: String,
    pub at_ms: i64,
    /// The event's fields as JSON.
    pub payload: String,
    pub received_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedNumber {
    pub e164: String,
    pub reason: String,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
}

const VERIFICATION_COLUMNS: &str = "id, customer_id, agent_id, context, code, state, attempts, \
     created_at_ms, expires_at_ms, verified_at_ms, valid_until_ms";

const CALL_COLUMNS: &str = "call_id, direction, from_number, to_number, remote_e164, \
     customer_id, queue, pbx_users, agent_id, answering_number, state, cause, started_at_ms, \
     answered_at_ms, ended_at_ms, updated_at_ms, called_back_at_ms, called_back_by";

fn verification_from_row(r: &AnyRow) -> anyhow::Result<Verification> {
    Ok(Verification {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        agent_id: r.try_get("agent_id")?,
        context: r.try_get("context")?,
        code: r.try_get("code")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        created_at_ms: r.try_get("created_at_ms")?,
        expires_at_ms: r.try_get("expires_at_ms")?,
        verified_at_ms: r.try_get("verified_at_ms")?,
        valid_until_ms: r.try_get("valid_until_ms")?,
    })
}

fn call_from_row(r: &AnyRow) -> anyhow::Result<CallRow> {
    Ok(CallRow {
        call_id: r.try_get("call_id")?,
        direction: r.try_get("direction")?,
        from_number: r.try_get("from_number")?,
        to_number: r.try_get("to_number")?,
        remote_e164: r.try_get("remote_e164")?,
        customer_id: r.try_get("customer_id")?,
        queue: r.try_get("queue")?,
        pbx_users: r.try_get("pbx_users")?,
        agent_id: r.try_get("agent_id")?,
        answering_number: r.try_get("answering_number")?,
        state: r.try_get("state")?,
        cause: r.try_get("cause")?,
        started_at_ms: r.try_get("started_at_ms")?,
        answered_at_ms: r.try_get("answered_at_ms")?,
        ended_at_ms: r.try_get("ended_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        called_back_at_ms: r.try_get("called_back_at_ms")?,
        called_back_by: r.try_get("called_back_by")?,
    })
}

/// Which calls a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallFilter {
    All,
    /// Missed inbound calls nobody has called back yet.
    ToCallBack,
}

impl Db {
    // --- phone numbers and badges ------------------------------------------------------------

    /// Sets (or with `None` clears) a user's phone number, E.164.
    pub async fn set_user_phone(&self, user_id: &str, e164: Option<&str>) -> anyhow::Result<()> {
        sqlx::query("UPDATE users SET phone_e164 = $1 WHERE id = $2")
            .bind(e164)
            .bind(user_id)
            .execute(self.pool())
            .await
            .context("while setting a phone number")?;
        Ok(())
    }

    pub async fn user_phone(&self, user_id: &str) -> anyhow::Result<Option<String>> {
        let row = sqlx::query("SELECT phone_e164 FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a phone number")?;
        Ok(row.and_then(|r| r.try_get("phone_e164").ok().flatten()))
    }

    /// The accounts that gave this number (at most `limit`).
    pub async fn users_with_phone(&self, e164: &str, limit: i64) -> anyhow::Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM users WHERE phone_e164 = $1 ORDER BY id LIMIT $2")
            .bind(e164)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while finding accounts by phone number")?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }

    /// The agent's badge, handed out on first need; `None` for someone who is not an agent.
    pub async fn agent_badge(&self, user_id: &str) -> anyhow::Result<Option<String>> {
        match self.stored_badge(user_id).await? {
            None => return Ok(None),
            Some(Some(badge)) => return Ok(Some(badge)),
            Some(None) => {}
        }
        let number: i64 = sqlx::query(
            "UPDATE counters SET value = value + 1 WHERE name = 'agent_badge' RETURNING value",
        )
        .fetch_one(self.pool())
        .await
        .context("while numbering an agent")?
        .try_get("value")?;
        // Two nodes may number the same agent at once: the first badge written stays.
        sqlx::query("UPDATE agents SET badge = $1 WHERE user_id = $2 AND badge IS NULL")
            .bind(format!("A{number}"))
            .bind(user_id)
            .execute(self.pool())
            .await
            .context("while giving an agent a badge")?;
        Ok(self.stored_badge(user_id).await?.flatten())
    }

    /// `None`: not an agent; `Some(None)`: an agent without a badge yet.
    async fn stored_badge(&self, user_id: &str) -> anyhow::Result<Option<Option<String>>> {
        let row = sqlx::query("SELECT badge FROM agents WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
            .context("while reading an agent's badge")?;
        Ok(row.map(|r| r.try_get("badge")).transpose()?)
    }

    /// The agent a PBX names: by badge (`A1001`, any case) or by email.
    pub async fn agent_named(&self, name: &str) -> anyhow::Result<Option<String>> {
        let name = name.trim();
        if name.is_empty() {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT a.user_id FROM agents a JOIN users u ON u.id = a.user_id \
             WHERE a.badge = $1 OR u.email = $2 ORDER BY a.user_id LIMIT 1",
        )
        .bind(name.to_ascii_uppercase())
        .bind(name.to_lowercase())
        .fetch_optional(self.pool())
        .await
        .context("while finding an agent by name")?;
        Ok(row.map(|r| r.try_get("user_id")).transpose()?)
    }

    // --- mutual verification -----------------------------------------------------------------

    /// Starts a request; earlier pending requests of the same agent for the same customer are
    /// cancelled (one code on the customer's screen per agent).
    pub async fn create_verification(&self, v: &Verification) -> anyhow::Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE support_verifications SET state = 'cancelled' \
             WHERE customer_id = $1 AND agent_id = $2 AND state = 'pending'",
        )
        .bind(&v.customer_id)
        .bind(&v.agent_id)
        .execute(&mut *tx)
        .await
        .context("while cancelling earlier verification requests")?;
        let sql = format!(
            "INSERT INTO support_verifications ({VERIFICATION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        sqlx::query(&sql)
            .bind(&v.id)
            .bind(&v.customer_id)
            .bind(&v.agent_id)
            .bind(&v.context)
            .bind(&v.code)
            .bind(&v.state)
            .bind(v.attempts)
            .bind(v.created_at_ms)
            .bind(v.expires_at_ms)
            .bind(v.verified_at_ms)
            .bind(v.valid_until_ms)
            .execute(&mut *tx)
            .await
            .context("while starting a verification")?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn verification(&self, id: &str) -> anyhow::Result<Option<Verification>> {
        let sql = format!("SELECT {VERIFICATION_COLUMNS} FROM support_verifications WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a verification")?
            .as_ref()
            .map(verification_from_row)
            .transpose()
    }

    /// A customer's requests that still mean something at `now_ms`: pending and unexpired, or
    /// verified and still valid; newest first.
    pub async fn current_verifications(
        &self,
        customer_id: &str,
        now_ms: i64,
    ) -> anyhow::Result<Vec<Verification>> {
        let sql = format!(
            "SELECT {VERIFICATION_COLUMNS} FROM support_verifications WHERE customer_id = $1 \
             AND ((state = 'pending' AND expires_at_ms > $2) \
             OR (state = 'verified' AND valid_until_ms > $3)) \
             ORDER BY created_at_ms DESC, id DESC LIMIT 20"
        );
        let rows = sqlx::query(&sql)
            .bind(customer_id)
            .bind(now_ms)
            .bind(now_ms)
            .fetch_all(self.pool())
            .await
            .context("while reading a customer's verifications")?;
        rows.iter().map(verification_from_row).collect()
    }

    /// The requests an agent made for a customer, newest first.
    pub async fn verifications_by(
        &self,
        agent_id: &str,
        customer_id: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<Verification>> {
        let sql = format!(
            "SELECT {VERIFICATION_COLUMNS} FROM support_verifications \
             WHERE agent_id = $1 AND customer_id = $2 ORDER BY created_at_ms DESC, id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(agent_id)
            .bind(customer_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while reading an agent's verifications")?;
        rows.iter().map(verification_from_row).collect()
    }

    /// The agent typed `code` for request `id`: the request is verified (valid for
    /// `valid_for_ms`), or the attempt is counted — all in one statement each, so two tries at
    /// once cannot both slip past the limit.
    pub async fn try_verification_code(
        &self,
        id: &str,
        agent_id: &str,
        code: &str,
        now_ms: i64,
        valid_for_ms: i64,
    ) -> anyhow::Result<CodeOutcome> {
        let Some(v) = self.verification(id).await? else {
            return Ok(CodeOutcome::NotFound);
        };
        if v.agent_id != agent_id {
            return Ok(CodeOutcome::NotFound);
        }
        if v.state != "pending" || v.expires_at_ms <= now_ms {
            return Ok(CodeOutcome::NotPending(v));
        }
        let right = constant_time_eq(v.code.as_bytes(), code.as_bytes());
        if right {
            let done = sqlx::query(
                "UPDATE support_verifications SET state = 'verified', verified_at_ms = $1, \
                 valid_until_ms = $2 WHERE id = $3 AND state = 'pending' AND attempts < $4",
            )
            .bind(now_ms)
            .bind(now_ms + valid_for_ms)
            .bind(id)
            .bind(VERIFICATION_ATTEMPTS_MAX)
            .execute(self.pool())
            .await
            .context("while confirming a verification")?;
            let now = self.verification(id).await?.context("vanished")?;
            return Ok(if done.rows_affected() == 1 {
                CodeOutcome::Verified(now)
            } else {
                CodeOutcome::NotPending(now)
            });
        }
        let row = sqlx::query(
            "UPDATE support_verifications SET attempts = attempts + 1, \
             state = CASE WHEN attempts + 1 >= $1 THEN 'failed' ELSE state END \
             WHERE id = $2 AND state = 'pending' RETURNING attempts",
        )
        .bind(VERIFICATION_ATTEMPTS_MAX)
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .context("while counting a wrong code")?;
        match row {
            Some(r) => {
                let attempts: i64 = r.try_get("attempts")?;
                Ok(CodeOutcome::Wrong {
                    attempts_left: (VERIFICATION_ATTEMPTS_MAX - attempts).max(0),
                })
            }
            None => {
                let now = self.verification(id).await?.context("vanished")?;
                Ok(CodeOutcome::NotPending(now))
            }
        }
    }

    /// Cancels a pending request (its agent's); whether one was.
    pub async fn cancel_verification(&self, id: &str, agent_id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE support_verifications SET state = 'cancelled' \
             WHERE id = $1 AND agent_id = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(agent_id)
        .execute(self.pool())
        .await
        .context("while cancelling a verification")?;
        Ok(done.rows_affected() == 1)
    }

    // --- PBX events and calls ------------------------------------------------------------------

    /// Stores an event once; `false` when the same call, event and time were stored before.
    pub async fn insert_cti_event(&self, e: &CtiEventRow) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO cti_events (call_id, event, at_ms, payload, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (call_id, event, at_ms) DO NOTHING",
        )
        .bind(&e.call_id)
        .bind(&e.event)
        .bind(e.at_ms)
        .bind(&e.payload)
        .bind(e.received_at_ms)
        .execute(self.pool())
        .await
        .context("while storing a PBX event")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn cti_events(&self, call_id: &str) -> anyhow::Result<Vec<CtiEventRow>> {
        let rows = sqlx::query(
            "SELECT call_id, event, at_ms, payload, received_at_ms FROM cti_events \
             WHERE call_id = $1 ORDER BY at_ms, received_at_ms",
        )
        .bind(call_id)
        .fetch_all(self.pool())
        .await
        .context("while reading a call's events")?;
        rows.iter()
            .map(|r| {
                Ok(CtiEventRow {
                    call_id: r.try_get("call_id")?,
                    event: r.try_get("event")?,
                    at_ms: r.try_get("at_ms")?,
                    payload: r.try_get("payload")?,
                    received_at_ms: r.try_get("received_at_ms")?,
                })
            })
            .collect()
    }

    /// Writes the call as its events now make it (keeping who called it back).
    pub async fn save_call(&self, c: &CallRow) -> anyhow::Result<()> {
        let sql = format!(
            "INSERT INTO cti_calls ({CALL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (call_id) DO UPDATE SET direction = excluded.direction, \
             from_number = excluded.from_number, to_number = excluded.to_number, \
             remote_e164 = excluded.remote_e164, customer_id = excluded.customer_id, \
             queue = excluded.queue, pbx_users = excluded.pbx_users, \
             agent_id = excluded.agent_id, answering_number = excluded.answering_number, \
             state = excluded.state, cause = excluded.cause, \
             started_at_ms = excluded.started_at_ms, answered_at_ms = excluded.answered_at_ms, \
             ended_at_ms = excluded.ended_at_ms, updated_at_ms = excluded.updated_at_ms"
        );
        sqlx::query(&sql)
            .bind(&c.call_id)
            .bind(&c.direction)
            .bind(&c.from_number)
            .bind(&c.to_number)
            .bind(&c.remote_e164)
            .bind(&c.customer_id)
            .bind(&c.queue)
            .bind(&c.pbx_users)
            .bind(&c.agent_id)
            .bind(&c.answering_number)
            .bind(&c.state)
            .bind(&c.cause)
            .bind(c.started_at_ms)
            .bind(c.answered_at_ms)
            .bind(c.ended_at_ms)
            .bind(c.updated_at_ms)
            .bind(c.called_back_at_ms)
            .bind(&c.called_back_by)
            .execute(self.pool())
            .await
            .context("while saving a call")?;
        Ok(())
    }

    pub async fn call(&self, call_id: &str) -> anyhow::Result<Option<CallRow>> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM cti_calls WHERE call_id = $1");
        sqlx::query(&sql)
            .bind(call_id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a call")?
            .as_ref()
            .map(call_from_row)
            .transpose()
    }

    /// The call log, newest first.
    pub async fn calls(&self, filter: CallFilter, limit: i64) -> anyhow::Result<Vec<CallRow>> {
        let filter = match filter {
            CallFilter::All => "",
            CallFilter::ToCallBack => "WHERE state = 'missed' AND called_back_at_ms IS NULL",
        };
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM cti_calls {filter} \
             ORDER BY started_at_ms DESC, call_id DESC LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while reading the call log")?;
        rows.iter().map(call_from_row).collect()
    }

    /// Calls an agent has now: answered by them (or transferred to them) and not ended.
    pub async fn live_calls_of(&self, agent_id: &str) -> anyhow::Result<Vec<CallRow>> {
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM cti_calls WHERE agent_id = $1 AND state = 'answered' \
             ORDER BY answered_at_ms DESC LIMIT 5"
        );
        let rows = sqlx::query(&sql)
            .bind(agent_id)
            .fetch_all(self.pool())
            .await
            .context("while reading an agent's calls")?;
        rows.iter().map(call_from_row).collect()
    }

    /// Marks a missed call as dealt with; whether it was one waiting for that.
    pub async fn mark_called_back(
        &self,
        call_id: &str,
        by: &str,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE cti_calls SET called_back_at_ms = $1, called_back_by = $2 \
             WHERE call_id = $3 AND state = 'missed' AND called_back_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(by)
        .bind(call_id)
        .execute(self.pool())
        .await
        .context("while marking a call as called back")?;
        Ok(done.rows_affected() == 1)
    }

    // --- blocked numbers -------------------------------------------------------------------------

    pub async fn blocked_numbers(&self) -> anyhow::Result<Vec<BlockedNumber>> {
        let rows = sqlx::query(
            "SELECT e164, reason, created_by, created_at_ms FROM blocked_numbers ORDER BY e164",
        )
        .fetch_all(self.pool())
        .await
        .context("while reading blocked numbers")?;
        rows.iter()
            .map(|r| {
                Ok(BlockedNumber {
                    e164: r.try_get("e164")?,
                    reason: r.try_get("reason")?,
                    created_by: r.try_get("created_by")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                })
            })
            .collect()
    }

    pub async fn is_blocked(&self, e164: &str) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM blocked_numbers WHERE e164 = $1")
            .bind(e164)
            .fetch_optional(self.pool())
            .await
            .context("while checking a blocked number")?;
        Ok(row.is_some())
    }

    pub async fn block_number(&self, b: &BlockedNumber) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO blocked_numbers (e164, reason, created_by, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (e164) DO UPDATE SET reason = excluded.reason",
        )
        .bind(&b.e164)
        .bind(&b.reason)
        .bind(&b.created_by)
        .bind(b.created_at_ms)
        .execute(self.pool())
        .await
        .context("while blocking a number")?;
        Ok(())
    }

    pub async fn unblock_number(&self, e164: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM blocked_numbers WHERE e164 = $1")
            .bind(e164)
            .execute(self.pool())
            .await
            .context("while unblocking a number")?;
        Ok(done.rows_affected() == 1)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
