//! Quotes, the admin-set price feed, merchants' payment requests, their webhooks and the
//! deliveries to them: every statement besides the movements themselves (see
//! [`crate::movements`], which marks requests paid and refunded inside the writer's commit).
//!
//! Webhook deliveries are sent at least once, claimed with a lease exactly like the mail outbox:
//! a conditional UPDATE moves `next_attempt_at_ms` forward and counts the attempt, so two nodes
//! never post the same delivery at the same time.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, now_ms, Db};

/// A locked conversion offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub id: String,
    pub user_id: String,
    pub from_asset: String,
    pub to_asset: String,
    pub from_amount: i64,
    pub fee: i64,
    pub to_amount: i64,
    /// Units of `to_asset` per unit of `from_asset`, after the spread, as decimal text.
    pub rate: String,
    /// Which feed priced it.
    pub source: String,
    pub simulated: bool,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub movement_id: Option<String>,
}

/// A merchant's payment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    pub id: String,
    pub merchant_id: String,
    pub asset: String,
    pub amount: i64,
    pub description: String,
    pub order_id: Option<String>,
    /// As stored: open, paid, refunded, cancelled (see [`PaymentRequest::status_at`]).
    pub status: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub payer_id: Option<String>,
    pub payment_id: Option<String>,
    pub paid_at_ms: Option<i64>,
    pub refunded: i64,
}

impl PaymentRequest {
    /// The status as people see it at `now_ms`: an open request past its expiry is `expired`.
    pub fn status_at(&self, now_ms: i64) -> &str {
        if self.status == crate::movements::request_status::OPEN && now_ms > self.expires_at_ms {
            crate::movements::request_status::EXPIRED
        } else {
            &self.status
        }
    }
}

/// A merchant's webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantWebhook {
    pub merchant_id: String,
    pub url: String,
    pub secret_sealed: String,
    pub updated_at_ms: i64,
}

/// One event for a merchant's endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: String,
    pub merchant_id: String,
    pub event_type: String,
    pub payload: String,
    pub url: String,
    /// pending, delivered or failed.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
}

/// One try at delivering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub id: String,
    pub delivery_id: String,
    pub at_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

const QUOTE_COLUMNS: &str = "id, user_id, from_asset, to_asset, from_amount, fee, to_amount, \
     rate, source, simulated, created_at_ms, expires_at_ms, movement_id";
const REQUEST_COLUMNS: &str = "id, merchant_id, asset, amount, description, order_id, status, \
     created_at_ms, expires_at_ms, payer_id, payment_id, paid_at_ms, refunded";
const DELIVERY_COLUMNS: &str = "id, merchant_id, event_type, payload, url, status, attempts, \
     next_attempt_at_ms, last_status_code, last_error, created_at_ms, delivered_at_ms";

fn quote_from_row(row: &AnyRow) -> anyhow::Result<Quote> {
    Ok(Quote {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        from_asset: row.try_get("from_asset")?,
        to_asset: row.try_get("to_asset")?,
        from_amount: row.try_get("from_amount")?,
        fee: row.try_get("fee")?,
        to_amount: row.try_get("to_amount")?,
        rate: row.try_get("rate")?,
        source: row.try_get("source")?,
        simulated: row.try_get::<i64, _>("simulated")? != 0,
        created_at_ms: row.try_get("created_at_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        movement_id: row.try_get("movement_id")?,
    })
}

fn request_from_row(row: &AnyRow) -> anyhow::Result<PaymentRequest> {
    Ok(PaymentRequest {
        id: row.try_get("id")?,
        merchant_id: row.try_get("merchant_id")?,
        asset: row.try_get("asset")?,
        amount: row.try_get("amount")?,
        description: row.try_get("description")?,
        order_id: row.try_get("order_id")?,
        status: row.try_get("status")?,
        created_at_ms: row.try_get("created_at_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        payer_id: row.try_get("payer_id")?,
        payment_id: row.try_get("payment_id")?,
        paid_at_ms: row.try_get("paid_at_ms")?,
        refunded: row.try_get("refunded")?,
    })
}

fn delivery_from_row(row: &AnyRow) -> anyhow::Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        merchant_id: row.try_get("merchant_id")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        url: row.try_get("url")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at_ms: row.try_get("next_attempt_at_ms")?,
        last_status_code: row.try_get("last_status_code")?,
        last_error: row.try_get("last_error")?,
        created_at_ms: row.try_get("created_at_ms")?,
        delivered_at_ms: row.try_get("delivered_at_ms")?,
    })
}

impl Db {
    // --- prices and quotes ----------------------------------------------------------------------

    /// The admin-set prices: (asset, US dollars as decimal text, updated at).
    pub async fn prices(&self) -> anyhow::Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query("SELECT asset, usd, updated_at_ms FROM prices ORDER BY asset")
            .fetch_all(self.pool())
            .await
            .context("while reading prices")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("asset")?,
                    r.try_get("usd")?,
                    r.try_get("updated_at_ms")?,
                ))
            })
            .collect()
    }

    pub async fn set_price(&self, asset: &str, usd: &str) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO prices (asset, usd, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (asset) DO UPDATE SET usd = excluded.usd, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(asset)
        .bind(usd)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .context("while setting a price")?;
        Ok(())
    }

    pub async fn insert_quote(&self, q: &Quote) -> anyhow::Result<()> {
        let sql = format!(
            "INSERT INTO quotes ({QUOTE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, NULL)"
        );
        sqlx::query(&sql)
            .bind(&q.id)
            .bind(&q.user_id)
            .bind(&q.from_asset)
            .bind(&q.to_asset)
            .bind(q.from_amount)
            .bind(q.fee)
            .bind(q.to_amount)
            .bind(&q.rate)
            .bind(&q.source)
            .bind(i64::from(q.simulated))
            .bind(q.created_at_ms)
            .bind(q.expires_at_ms)
            .execute(self.pool())
            .await
            .context("while recording a quote")?;
        Ok(())
    }

    pub async fn quote(&self, id: &str) -> anyhow::Result<Option<Quote>> {
        let sql = format!("SELECT {QUOTE_COLUMNS} FROM quotes WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a quote")?
            .as_ref()
            .map(quote_from_row)
            .transpose()
    }

    // --- payment requests -----------------------------------------------------------------------

    pub async fn insert_payment_request(&self, r: &PaymentRequest) -> anyhow::Result<()> {
        let sql = format!(
            "INSERT INTO payment_requests ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, NULL, NULL, NULL, 0)"
        );
        sqlx::query(&sql)
            .bind(&r.id)
            .bind(&r.merchant_id)
            .bind(&r.asset)
            .bind(r.amount)
            .bind(&r.description)
            .bind(&r.order_id)
            .bind(&r.status)
            .bind(r.created_at_ms)
            .bind(r.expires_at_ms)
            .execute(self.pool())
            .await
            .context("while recording a payment request")?;
        Ok(())
    }

    pub async fn payment_request(&self, id: &str) -> anyhow::Result<Option<PaymentRequest>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM payment_requests WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a payment request")?
            .as_ref()
            .map(request_from_row)
            .transpose()
    }

    /// A merchant's requests, newest first, before the cursor (created_at_ms, id).
    pub async fn payment_requests_of(
        &self,
        merchant_id: &str,
        before: Option<(i64, String)>,
        limit: i64,
    ) -> anyhow::Result<Vec<PaymentRequest>> {
        let (at, id) = before.unwrap_or((i64::MAX, String::new()));
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM payment_requests WHERE merchant_id = $1 \
             AND (created_at_ms < $2 OR (created_at_ms = $2 AND id < $3) OR $3 = '') \
             ORDER BY created_at_ms DESC, id DESC LIMIT $4"
        );
        sqlx::query(&sql)
            .bind(merchant_id)
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while listing payment requests")?
            .iter()
            .map(request_from_row)
            .collect()
    }

    /// Cancels an open request; false when it is no longer open (paid in between, or cancelled).
    pub async fn cancel_payment_request(&self, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE payment_requests SET status = 'cancelled' WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .execute(self.pool())
        .await
        .context("while cancelling a payment request")?;
        Ok(done.rows_affected() == 1)
    }

    // --- webhooks -------------------------------------------------------------------------------

    pub async fn merchant_webhook(
        &self,
        merchant_id: &str,
    ) -> anyhow::Result<Option<MerchantWebhook>> {
        let row = sqlx::query(
            "SELECT merchant_id, url, secret_sealed, updated_at_ms FROM merchant_webhooks \
             WHERE merchant_id = $1",
        )
        .bind(merchant_id)
        .fetch_optional(self.pool())
        .await
        .context("while reading a webhook")?;
        row.map(|r| {
            Ok(MerchantWebhook {
                merchant_id: r.try_get("merchant_id")?,
                url: r.try_get("url")?,
                secret_sealed: r.try_get("secret_sealed")?,
                updated_at_ms: r.try_get("updated_at_ms")?,
            })
        })
        .transpose()
    }

    /// Sets the endpoint; `secret_sealed` replaces the signing key when given.
    pub async fn set_merchant_webhook(
        &self,
        merchant_id: &str,
        url: &str,
        secret_sealed: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO merchant_webhooks (merchant_id, url, secret_sealed, updated_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (merchant_id) DO UPDATE SET url = excluded.url, \
             secret_sealed = excluded.secret_sealed, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(merchant_id)
        .bind(url)
        .bind(secret_sealed)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .context("while setting a webhook")?;
        Ok(())
    }

    pub async fn delete_merchant_webhook(&self, merchant_id: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM merchant_webhooks WHERE merchant_id = $1")
            .bind(merchant_id)
            .execute(self.pool())
            .await
            .context("while removing a webhook")?;
        Ok(())
    }

    /// Claims up to `limit` due deliveries for `lease_ms`; each claim counts an attempt.
    pub async fn claim_due_deliveries(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> anyhow::Result<Vec<WebhookDelivery>> {
        let now = now_ms();
        let candidates = sqlx::query(
            "SELECT id, next_attempt_at_ms FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at_ms <= $1 ORDER BY next_attempt_at_ms, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while looking for due webhooks")?;
        let mut won = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            let id: String = candidate.try_get("id")?;
            let due: i64 = candidate.try_get("next_attempt_at_ms")?;
            let sql = format!(
                "UPDATE webhook_deliveries SET next_attempt_at_ms = $1, attempts = attempts + 1 \
                 WHERE id = $2 AND next_attempt_at_ms = $3 AND status = 'pending' \
                 RETURNING {DELIVERY_COLUMNS}"
            );
            let claimed = sqlx::query(&sql)
                .bind(now.saturating_add(lease_ms))
                .bind(&id)
                .bind(due)
                .fetch_optional(self.pool())
                .await
                .context("while claiming a webhook")?;
            if let Some(row) = claimed {
                won.push(delivery_from_row(&row)?);
            }
        }
        Ok(won)
    }

    /// Records one attempt and what follows it: delivered, retry at `retry_at_ms`, or (`None`
    /// and not delivered) failed for good.
    pub async fn record_delivery_attempt(
        &self,
        delivery_id: &str,
        status_code: Option<i64>,
        error: Option<&str>,
        duration_ms: i64,
        delivered: bool,
        retry_at_ms: Option<i64>,
    ) -> anyhow::Result<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (id, delivery_id, at_ms, status_code, error, \
             duration_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(delivery_id)
        .bind(now)
        .bind(status_code)
        .bind(error)
        .bind(duration_ms)
        .execute(&mut *tx)
        .await
        .context("while logging a webhook attempt")?;
        let (status, next) = match (delivered, retry_at_ms) {
            (true, _) => ("delivered", now),
            (false, Some(at)) => ("pending", at),
            (false, None) => ("failed", now),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, next_attempt_at_ms = $2, \
             last_status_code = $3, last_error = $4, \
             delivered_at_ms = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_at_ms END \
             WHERE id = $6",
        )
        .bind(status)
        .bind(next)
        .bind(status_code)
        .bind(error)
        .bind(now)
        .bind(delivery_id)
        .execute(&mut *tx)
        .await
        .context("while updating a webhook delivery")?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn webhook_delivery(&self, id: &str) -> anyhow::Result<Option<WebhookDelivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a webhook delivery")?
            .as_ref()
            .map(delivery_from_row)
            .transpose()
    }

    /// A merchant's deliveries, newest first.
    pub async fn webhook_deliveries_of(
        &self,
        merchant_id: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<WebhookDelivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE merchant_id = $1 \
             ORDER BY created_at_ms DESC, id DESC LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(merchant_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while listing webhook deliveries")?
            .iter()
            .map(delivery_from_row)
            .collect()
    }

    pub async fn webhook_attempts(&self, delivery_id: &str) -> anyhow::Result<Vec<WebhookAttempt>> {
        let rows = sqlx::query(
            "SELECT id, delivery_id, at_ms, status_code, error, duration_ms FROM \
             webhook_attempts WHERE delivery_id = $1 ORDER BY at_ms, id",
        )
        .bind(delivery_id)
        .fetch_all(self.pool())
        .await
        .context("while listing webhook attempts")?;
        rows.iter()
            .map(|r| {
                Ok(WebhookAttempt {
                    id: r.try_get("id")?,
                    delivery_id: r.try_get("delivery_id")?,
                    at_ms: r.try_get("at_ms")?,
                    status_code: r.try_get("status_code")?,
                    error: r.try_get("error")?,
                    duration_ms: r.try_get("duration_ms")?,
                })
            })
            .collect()
    }

    /// Sends a delivery again now (the merchant's "replay"), to the endpoint's current URL.
    /// False when it is not the merchant's.
    pub async fn replay_delivery(&self, merchant_id: &str, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at_ms = $1, \
             url = COALESCE((SELECT url FROM merchant_webhooks WHERE merchant_id = $2), url) \
             WHERE id = $3 AND merchant_id = $2",
        )
        .bind(now_ms())
        .bind(merchant_id)
        .bind(id)
        .execute(self.pool())
        .await
        .context("while replaying a webhook")?;
        Ok(done.rows_affected() == 1)
    }
}
